"""Django admin for the working calendar and the SLA policies (both edited by administrators)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from config.cache import fallback_cache as cache
from sla.calendar_import import CalendarFileError, parse_calendar_file
from sla.models import CalendarYear, SlaPolicy, WorkingDay
from sla.services import calendar_replace_years
from tickets.models import RequestType, Urgency
from tickets.services.clocks import deadlines_recompute_unconfirmed

MANUAL = "manual"


@admin.register(WorkingDay)
class WorkingDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "name", "source"]
    list_filter = ["is_workday", "source"]
    list_editable = ["is_workday", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"
    fields = ["date", "is_workday", "name", "source"]
    readonly_fields = ["source"]

    def save_model(self, request: HttpRequest, obj: WorkingDay, form: Any, change: bool) -> None:
        # A day an administrator touched is theirs: the seed never overwrites it.
        obj.source = MANUAL
        super().save_model(request, obj, form, change)


class CalendarImportForm(forms.Form):
    file = forms.FileField(
        label=_("放假安排文件"),
        help_text=_("CSV（表头 date,type,name；type 为 work 或 rest）或 JSON 列表，UTF-8 编码"),
    )


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "imported_at"]
    fields = ["year", "source", "imported_at"]
    readonly_fields = ["imported_at"]
    change_list_template = "admin/sla/calendaryear/change_list.html"

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="sla_calendaryear_import",
            )
        ]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Import a year's official schedule, then recompute unconfirmed open deadlines."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CalendarImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                entries = parse_calendar_file(upload.read(), filename=upload.name)
            except CalendarFileError as exc:
                form.add_error("file", str(exc))
            else:
                years = calendar_replace_years(entries=entries, source=f"import:{upload.name}")
                changed = deadlines_recompute_unconfirmed()
                cache.delete("admin:calendar-warning")
                messages.success(
                    request,
                    f"已导入 {'、'.join(map(str, years))} 年的放假安排（{len(entries)} 个日期），"
                    f"重算了 {len(changed)} 件工单的办结时限。",
                )
                return redirect("admin:sla_calendaryear_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "导入放假安排",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sla/calendaryear/import.html", context)


class SlaPolicyForm(forms.ModelForm):
    """Request type and urgency are free text in the table (blank = any): offer the choices."""

    request_type = forms.ChoiceField(
        label=_("诉求类型"),
        required=False,
        choices=[("", _("任意类型")), *RequestType.choices],
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"), required=False, choices=[("", _("任意")), *Urgency.choices]
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "kind",
            "request_type",
            "urgency",
            "category",
            "unit",
            "amount",
            "counting",
            "active",
        ]

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount is None or amount < 1:
            raise forms.ValidationError(_("时限至少为 1。"))
        return int(amount)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "name",
        "kind",
        "request_type_label",
        "urgency_label",
        "category",
        "amount",
        "unit",
        "counting",
        "active",
    ]
    list_filter = ["kind", "unit", "active"]
    search_fields = ["name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]

    @admin.display(description=_("诉求类型"), ordering="request_type")
    def request_type_label(self, obj: SlaPolicy) -> str:
        if not obj.request_type:
            return "任意"
        if obj.request_type in RequestType.values:
            return str(RequestType(obj.request_type).label)
        return obj.request_type

    @admin.display(description=_("紧急程度"), ordering="urgency")
    def urgency_label(self, obj: SlaPolicy) -> str:
        if not obj.urgency:
            return "任意"
        return str(Urgency(obj.urgency).label) if obj.urgency in Urgency.values else obj.urgency
