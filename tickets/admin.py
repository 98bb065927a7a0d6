"""Django admin for the queue's configuration, and a read-only window on tickets.

Departments, categories and staff roles are configured here. Tickets, their timeline and
attachments are shown but never changed: a ticket's state moves only through
``tickets.services``, so the admin has no add, change or delete for them.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.cache import fallback_cache as cache
from sla.services import calendar_uncovered_days
from tickets.models import (
    Attachment,
    Category,
    Citizen,
    CitizenIdentity,
    Department,
    ExtensionRequest,
    Feedback,
    Reply,
    Role,
    StaffNotification,
    StaffProfile,
    State,
    Ticket,
    TicketEvent,
)
from tickets.permissions import ACTIONS
from tickets.services.events import actor_label

admin.site.site_header = "民声 · 诉求办理系统"
admin.site.site_title = "民声"
admin.site.index_title = "系统管理"

EVENT_KINDS: dict[str, str] = {
    "created": "收到诉求",
    "citizen_message": "市民补充",
    "sla_warning": "时限预警",
    "sla_breach": "超时督办",
    "sla_reminder": "催办",
    "extension_approved": "延期已批准",
    "extension_rejected": "延期已驳回",
    "deadline_recomputed": "时限重算",
    "feedback": "市民评价",
    "urge": "平台催办",
    "supervise": "平台督办",
    "redispatch": "平台重新派单",
    "notice_undeliverable": "通知无法送达",
    "replay_suspected": "疑似重放",
    **ACTIONS,
}


def json_block(value: Any) -> str:
    """JSON as readable text: Chinese kept as is (Django's default escapes it to \\u escapes)."""
    if value in (None, "", {}, []):
        return "-"
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return format_html('<pre class="minsheng-pre">{}</pre>', text)


class ReadOnlyAdminMixin:
    """View only, for every user: no add, no change, no delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- organisation ------------------------------------------------------------------------


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "level", "parent", "active"]
    list_filter = ["level", "active"]
    search_fields = ["name", "code"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    fields = ["code", "name", "level", "parent", "active"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "parent", "default_department", "active"]
    list_filter = ["active", ("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "code"]
    list_select_related = ["parent", "default_department"]
    autocomplete_fields = ["parent", "default_department"]
    fields = ["code", "name", "parent", "default_department", "active"]


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    fk_name = "user"
    can_delete = False
    extra = 1
    max_num = 1
    autocomplete_fields = ["department"]
    verbose_name = _("角色与部门")
    verbose_name_plural = _("角色与部门")


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Django's user admin, with the Minsheng role and department set on the same page."""

    inlines = [StaffProfileInline]
    list_display = [
        "username",
        "first_name",
        "staff_role",
        "staff_department",
        "is_active",
        "is_staff",
        "is_superuser",
    ]
    list_filter = ["staff_profile__role", "is_active", "is_staff", "is_superuser"]
    list_select_related = ["staff_profile__department"]

    @admin.display(description=_("角色"), ordering="staff_profile__role")
    def staff_role(self, obj: Any) -> str:
        profile = getattr(obj, "staff_profile", None)
        return str(Role(profile.role).label) if profile is not None else "-"

    @admin.display(description=_("部门"), ordering="staff_profile__department__name")
    def staff_department(self, obj: Any) -> str:
        profile = getattr(obj, "staff_profile", None)
        if profile is None or profile.department is None:
            return "-"
        return str(profile.department)


# --- citizens ----------------------------------------------------------------------------


class CitizenIdentityInline(admin.TabularInline):
    model = CitizenIdentity
    extra = 0
    can_delete = False
    fields = ["kind", "account", "value", "subscribed", "last_seen_at"]
    readonly_fields = ["kind", "account", "value", "last_seen_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin):
    """Read-mostly: citizens arrive through intake; an administrator may correct details."""

    list_display = ["__str__", "phone", "email", "created_at"]
    search_fields = ["name", "phone", "email", "identities__value"]
    readonly_fields = ["created_at"]
    fields = ["name", "phone", "email", "created_at"]
    inlines = [CitizenIdentityInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- tickets (read only) -----------------------------------------------------------------


class TicketEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TicketEvent
    extra = 0
    ordering = ["created_at", "id"]
    fields = readonly_fields = (
        "created_at",
        "kind_label",
        "actor_label",
        "from_state_label",
        "to_state_label",
    )
    verbose_name = _("办理过程")
    verbose_name_plural = _("办理过程")

    @admin.display(description=_("事件"))
    def kind_label(self, obj: TicketEvent) -> str:
        return EVENT_KINDS.get(obj.kind, obj.kind)

    @admin.display(description=_("原状态"))
    def from_state_label(self, obj: TicketEvent) -> str:
        return _state_label(obj.from_state)

    @admin.display(description=_("新状态"))
    def to_state_label(self, obj: TicketEvent) -> str:
        return _state_label(obj.to_state)


class ReplyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Reply
    extra = 0
    fields = readonly_fields = ("created_at", "author_name", "department_name", "content")

    @admin.display(description=_("答复人"))
    def author_name(self, obj: Reply) -> str:
        return actor_label(obj.author, "-")

    @admin.display(description=_("答复部门"))
    def department_name(self, obj: Reply) -> str:
        return obj.department.name if obj.department else "-"


class AttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attachment
    fk_name = "ticket"
    extra = 0
    fields = readonly_fields = (
        "name",
        "content_type",
        "size",
        "media_id",
        "download",
        "download_error",
        "created_at",
    )


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else (state or "-")


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A window on the queue. Every change goes through the services (the inbox and API)."""

    list_display = [
        "case_no",
        "title",
        "channel",
        "state",
        "department",
        "received_at",
        "resolve_due_at",
    ]
    list_filter = ["state", "channel", "request_type", "urgency", "department", "supervised"]
    search_fields = ["case_no", "title"]
    list_select_related = ["department"]
    date_hierarchy = "received_at"
    ordering = ["-received_at", "-id"]
    show_full_result_count = False
    inlines = [TicketEventInline, ReplyInline, AttachmentInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "case_no",
                    "state",
                    "channel",
                    "channel_account",
                    "request_type",
                    "urgency",
                    "category",
                    "department",
                    "assignee",
                    "citizen",
                    "title",
                    "content",
                    "address",
                    ("latitude", "longitude"),
                ]
            },
        ),
        (
            _("时限"),
            {
                "fields": [
                    "received_at",
                    ("ack_due_at", "acknowledged_at", "ack_on_time"),
                    ("resolve_due_at", "resolve_unit", "calendar_confirmed"),
                    "paused_at",
                    ("first_replied_at", "replied_at", "resolved_on_time"),
                    "closed_at",
                ]
            },
        ),
        (
            _("其他"),
            {
                "classes": ["collapse"],
                "fields": [
                    "supervised",
                    "confidential",
                    "duplicate_of",
                    "reopen_count",
                    "external_ref",
                    "version",
                    "created_at",
                    "updated_at",
                ],
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Everything, explicitly (the query code is a secret for the citizen: not shown).
        return [field.name for field in Ticket._meta.fields if field.name != "query_code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return super().get_queryset(request).select_related("department")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "ticket_case_no", "content_type", "size", "download", "created_at"]
    list_filter = ["download", "content_type"]
    search_fields = ["name", "ticket__case_no", "media_id"]
    list_select_related = ["ticket"]
    fields = readonly_fields = (
        "ticket_case_no",
        "inbound_message",
        "name",
        "content_type",
        "size",
        "media_id",
        "source_url",
        "file",
        "download",
        "download_error",
        "downloaded_at",
        "created_at",
    )

    @admin.display(description=_("工单"), ordering="ticket__case_no")
    def ticket_case_no(self, obj: Attachment) -> str:
        return obj.ticket.case_no if obj.ticket else "-"

    @admin.display(description=_("收件日志"))
    def inbound_message(self, obj: Attachment) -> str:
        return str(obj.inbound) if obj.inbound else "-"


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Decided in the inbox by the department's supervisor; read here."""

    list_display = ["ticket", "days", "status", "requested_by", "requested_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["ticket__case_no"]
    list_select_related = ["ticket", "requested_by", "decided_by"]


@admin.register(StaffNotification)
class StaffNotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "text", "read_at"]
    list_filter = ["kind"]
    search_fields = ["ticket__case_no", "recipient__username"]
    list_select_related = ["recipient"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ticket", "satisfaction", "resolved", "channel", "cycle", "created_at"]
    list_filter = ["satisfaction", "resolved", "channel"]
    search_fields = ["ticket__case_no"]
    list_select_related = ["ticket"]


_each_context = admin.site.each_context


def _each_context_with_calendar(request: Any) -> dict[str, Any]:
    """Every admin page warns when the working calendar does not cover the next 90 days."""
    context = _each_context(request)
    warning = cache.get("admin:calendar-warning")
    if warning is None:
        missing = calendar_uncovered_days(today=timezone.localdate())
        warning = (
            f"工作日历未覆盖未来90天：缺少 {'、'.join(str(d.year) for d in missing)} 年的放假安排。"
            "跨越这些日期的办结时限按普通周末规则计算并标记为“未确认”。请在“已覆盖年份”页面导入国务院放假安排。"
            if missing
            else ""
        )
        cache.set("admin:calendar-warning", warning, 600)
    context["calendar_warning"] = warning
    return context


admin.site.each_context = _each_context_with_calendar  # type: ignore[method-assign]
