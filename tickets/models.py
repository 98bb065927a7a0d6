"""The queue: departments, categories, citizens, tickets and their timeline.

A ticket's ``state`` is a protected FSM field: it changes only through the transition methods
below, and those are called only from ``tickets.services`` (which lock the row, check the
actor, write a TicketEvent and schedule side effects after commit).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition


class Channel(models.TextChoices):
    WEBSITE = "website", _("网站")
    WECHAT = "wechat", _("微信")
    WEIBO = "weibo", _("微博")
    HOTLINE = "hotline", _("12345热线")
    OPEN311 = "open311", _("Open311")
    IMPORT = "import", _("历史导入")


class RequestType(models.TextChoices):
    CONSULT = "consult", _("咨询")
    HELP = "help", _("求助")
    SUGGEST = "suggest", _("建议")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class State(models.TextChoices):
    NEW = "new", _("待受理")
    ACKNOWLEDGED = "acknowledged", _("已受理")
    ASSIGNED = "assigned", _("已派单")
    IN_PROGRESS = "in_progress", _("办理中")
    WAITING_CITIZEN = "waiting_citizen", _("待补充")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已合并")
    INVALID = "invalid", _("无效")


OPEN_STATES = (
    State.NEW,
    State.ACKNOWLEDGED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.WAITING_CITIZEN,
)
RESOLUTION_CLOCK_STATES = (State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS)


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", _("受理派单员")
    HANDLER = "handler", _("承办人")
    SUPERVISOR = "supervisor", _("督办/部门负责人")
    LEADERSHIP = "leadership", _("领导")
    ADMIN = "admin", _("管理员")


class Department(models.Model):
    """A node of the organisation tree: district → bureau → section."""

    class Level(models.TextChoices):
        DISTRICT = "district", _("区")
        BUREAU = "bureau", _("局/委办")
        SECTION = "section", _("科室/街道")

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name

    def subtree_ids(self) -> set[int]:
        """This department and everything below it (trees here are a few hundred nodes)."""
        ids = {self.pk}
        frontier = [self.pk]
        while frontier:
            frontier = list(
                Department.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            )
            ids.update(frontier)
        return ids


class Category(models.Model):
    """What a case is about (a tree), with the department that normally handles it."""

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    default_department = models.ForeignKey(
        Department,
        verbose_name=_("默认承办部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="default_categories",
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("分类")
        verbose_name_plural = _("分类")

    def __str__(self) -> str:
        return self.name


class StaffProfile(models.Model):
    """A staff member's role and department."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Citizen(models.Model):
    """A person who writes in. Identities per channel live in ``CitizenIdentity``."""

    name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True, db_index=True)
    email = models.EmailField(_("电子邮件"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("市民")
        verbose_name_plural = _("市民")

    def __str__(self) -> str:
        return self.name or f"市民#{self.pk}"


class CitizenIdentity(models.Model):
    """How a citizen is known in one channel (WeChat OpenID, Weibo uid, phone, e-mail, caller)."""

    class Kind(models.TextChoices):
        WECHAT_OPENID = "wechat_openid", _("微信 OpenID")
        WEIBO_UID = "weibo_uid", _("微博 UID")
        PHONE = "phone", _("电话")
        EMAIL = "email", _("电子邮件")
        HOTLINE_CALLER = "hotline_caller", _("12345 来电人")
        OPEN311_CLIENT = "open311_client", _("Open311 客户端")

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    account = models.CharField(
        _("渠道账号"), max_length=64, blank=True, help_text=_("OpenID 只在一个公众号内唯一")
    )
    value = models.CharField(_("标识"), max_length=128)
    subscribed = models.BooleanField(_("可接收消息"), default=True)
    last_seen_at = models.DateTimeField(_("最近互动"), null=True, blank=True)
    last_location = models.JSONField(_("最近位置"), null=True, blank=True)

    class Meta:
        verbose_name = _("市民渠道身份")
        verbose_name_plural = _("市民渠道身份")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "account", "value"], name="citizen_identity_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


def new_query_code() -> str:
    return secrets.token_urlsafe(9)


class Ticket(FSMModelMixin, models.Model):
    case_no = models.CharField(_("编号"), max_length=14, unique=True)
    query_code = models.CharField(_("查询码"), max_length=24, default=new_query_code)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    channel_account = models.CharField(_("渠道账号"), max_length=64, blank=True)
    request_type = models.CharField(
        _("诉求类型"), max_length=16, choices=RequestType.choices, default=RequestType.HELP
    )
    urgency = models.CharField(
        _("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    category = models.ForeignKey(
        Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.PROTECT
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("承办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    citizen = models.ForeignKey(
        Citizen,
        verbose_name=_("市民"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    title = models.CharField(_("标题"), max_length=200, blank=True)
    content = models.TextField(_("内容"))
    address = models.CharField(_("地址"), max_length=300, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    state = FSMField(_("状态"), default=State.NEW, choices=State.choices, protected=True)
    received_at = models.DateTimeField(_("收到时间"))
    ack_due_at = models.DateTimeField(_("受理时限"))
    acknowledged_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    ack_on_time = models.BooleanField(_("及时受理"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("办结时限"))
    resolve_unit = models.CharField(_("时限单位"), max_length=16, default="working_days")
    calendar_confirmed = models.BooleanField(_("日历已确认"), default=True)
    paused_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    first_replied_at = models.DateTimeField(_("首次答复时间"), null=True, blank=True)
    resolved_on_time = models.BooleanField(_("按时办结"), null=True, blank=True)
    replied_at = models.DateTimeField(_("最近答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    supervised = models.BooleanField(_("督办"), default=False)
    # The current SLA cycle (a reopen or an approved extension starts a new one): what the
    # deadline was computed from, which warnings/breaches already happened, and what is next.
    resolve_basis = models.JSONField(
        _("时限依据"), default=dict, blank=True, help_text=_("起算时间、策略与顺延工作日")
    )
    ack_warned = models.BooleanField(_("受理已预警"), default=False)
    ack_breached = models.BooleanField(_("受理已超时"), default=False)
    resolve_warned = models.BooleanField(_("办结已预警"), default=False)
    resolve_breached = models.BooleanField(_("办结已超时"), default=False)
    last_reminder_at = models.DateTimeField(_("最近催办"), null=True, blank=True)
    sla_next_at = models.DateTimeField(_("下次时限事件"), null=True, blank=True)
    sla_next_kind = models.CharField(_("下次时限事件类型"), max_length=20, blank=True)
    confidential = models.BooleanField(_("保密"), default=False)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("合并到"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    external_ref = models.CharField(_("12345 工单编号"), max_length=64, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        indexes = [
            models.Index(fields=["state", "ack_due_at", "id"], name="ticket_state_ackdue"),
            models.Index(fields=["state", "resolve_due_at", "id"], name="ticket_state_resdue"),
            models.Index(fields=["department", "state", "resolve_due_at"], name="ticket_dept"),
            models.Index(fields=["received_at"], name="ticket_received"),
            models.Index(fields=["ack_due_at"], name="ticket_new_ackdue", condition=Q(state="new")),
            models.Index(
                fields=["resolve_due_at"],
                name="ticket_open_resdue",
                condition=Q(state__in=["acknowledged", "assigned", "in_progress"]),
            ),
            # The sweep reads only this: tickets whose next SLA event has come.
            models.Index(
                fields=["sla_next_at", "id"],
                name="ticket_sla_next",
                condition=Q(sla_next_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_no} {self.title}".strip()

    # --- transitions: called only by tickets.services ------------------------------------
    # Each records the data the new state needs; the services compute and check the rest.

    @transition(field=state, source=State.NEW, target=State.ACKNOWLEDGED)
    def acknowledge(self, *, at: Any) -> None:
        self.acknowledged_at = at

    @transition(field=state, source=State.ACKNOWLEDGED, target=State.ASSIGNED)
    def assign(self, *, department: Department, assignee: Any = None) -> None:
        self.department = department
        self.assignee = assignee

    @transition(field=state, source=State.ASSIGNED, target=State.IN_PROGRESS)
    def accept(self, *, assignee: Any) -> None:
        self.assignee = assignee

    @transition(field=state, source=State.ASSIGNED, target=State.ACKNOWLEDGED)
    def return_to_dispatch(self) -> None:
        self.assignee = None

    @transition(field=state, source=State.IN_PROGRESS, target=State.ASSIGNED)
    def transfer(self, *, department: Department) -> None:
        self.department = department
        self.assignee = None

    @transition(field=state, source=State.IN_PROGRESS, target=State.WAITING_CITIZEN)
    def request_info(self, *, at: Any) -> None:
        self.paused_at = at

    @transition(field=state, source=State.WAITING_CITIZEN, target=State.IN_PROGRESS)
    def resume(self) -> None:
        self.paused_at = None

    @transition(field=state, source=[State.ACKNOWLEDGED, State.IN_PROGRESS], target=State.REPLIED)
    def reply(self, *, at: Any) -> None:
        self.replied_at = at
        if self.first_replied_at is None:
            self.first_replied_at = at

    @transition(field=state, source=[State.REPLIED, State.CLOSED], target=State.IN_PROGRESS)
    def reopen(self) -> None:
        self.reopen_count += 1
        self.closed_at = None

    @transition(field=state, source=State.REPLIED, target=State.CLOSED)
    def close(self, *, at: Any) -> None:
        self.closed_at = at

    @transition(field=state, source=list(OPEN_STATES), target=State.MERGED)
    def merge_into(self, *, target: Ticket) -> None:
        self.duplicate_of = target

    @transition(field=state, source=[State.NEW, State.ACKNOWLEDGED], target=State.INVALID)
    def mark_invalid(self) -> None:
        pass

    @transition(field=state, source=list(OPEN_STATES), target=State.INVALID)
    def withdraw(self) -> None:
        pass


class AppendOnlyQuerySet(models.QuerySet["TicketEvent"]):
    """Bulk changes are refused too (a ticket's deletion still cascades at the SQL level)."""

    def update(self, **kwargs: Any) -> int:
        raise ValueError("TicketEvent is append-only: events are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("TicketEvent is append-only: events are never deleted")


class TicketEvent(models.Model):
    """The append-only timeline: every change to a ticket, with who, when and what."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事件"), max_length=32, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("操作方"), max_length=64, blank=True)
    from_state = models.CharField(_("原状态"), max_length=16, blank=True)
    to_state = models.CharField(_("新状态"), max_length=16, blank=True)
    payload = models.JSONField(_("内容"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("工单事件")
        verbose_name_plural = _("工单事件")
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_time")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("TicketEvent is append-only: an event is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("TicketEvent is append-only: an event is never deleted")


class Reply(models.Model):
    """An outcome sent to the citizen (答复). The first one stops the resolution clock."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    content = models.TextField(_("答复内容"))
    created_at = models.DateTimeField(_("答复时间"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("答复")
        verbose_name_plural = _("答复")

    def __str__(self) -> str:
        return f"{self.ticket_id} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """A file a citizen sent. Stored privately, served only to those who may see the ticket."""

    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    inbound = models.ForeignKey(
        "integrations.InboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    file = models.FileField(_("文件"), upload_to="attachments/%Y/%m/", blank=True)
    name = models.CharField(_("文件名"), max_length=200, blank=True)
    content_type = models.CharField(_("类型"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("大小"), default=0)
    source_url = models.URLField(_("来源地址"), max_length=500, blank=True)
    media_id = models.CharField(_("渠道媒体ID"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.name or self.media_id or f"附件#{self.pk}"


class CaseNumberCounter(models.Model):
    """The last case-number sequence handed out per receipt day (Asia/Shanghai)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("编号计数器")
        verbose_name_plural = _("编号计数器")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class ExtensionRequest(models.Model):
    """延期: asked by the handling department, decided by its supervisor."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延期工作日"))
    reason = models.TextField(_("理由"))
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("申请时间"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)
    due_before = models.DateTimeField(_("原时限"), null=True, blank=True)
    due_after = models.DateTimeField(_("新时限"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(status="pending"),
                name="one_pending_extension_per_ticket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} +{self.days} ({self.get_status_display()})"


class StaffNotification(models.Model):
    """An in-app notice to one staff member (SLA warnings, breaches, reminders, approvals)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=32)
    text = models.CharField(_("内容"), max_length=300)
    created_at = models.DateTimeField(_("时间"))
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("工作提醒")
        verbose_name_plural = _("工作提醒")
        indexes = [models.Index(fields=["recipient", "read_at"], name="notice_unread")]

    def __str__(self) -> str:
        return self.text


class Feedback(models.Model):
    """回访: the citizen's rating of a reply (website, WeChat, 12345 回访结果)."""

    class Satisfaction(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="feedback")
    satisfaction = models.CharField(_("满意度"), max_length=24, choices=Satisfaction.choices)
    resolved = models.BooleanField(_("问题已解决"), null=True, blank=True)
    comment = models.TextField(_("意见"), blank=True)
    channel = models.CharField(_("来源"), max_length=16, blank=True)
    cycle = models.PositiveSmallIntegerField(_("办理轮次"), default=0)
    created_at = models.DateTimeField(_("评价时间"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("回访评价")
        verbose_name_plural = _("回访评价")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "cycle"], name="one_feedback_per_cycle")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.get_satisfaction_display()}"


from tickets.models_public import Open311ApiKey, PublicRecord  # noqa: E402, F401
