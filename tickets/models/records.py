"""What happens to a ticket: the append-only timeline, replies, attachments, extension requests, staff notices, feedback, and the case-number counter."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models.people import Department
from tickets.models.ticket import Ticket


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
    # The ticket as it stood right after this event (with ``to_state``): the figures for a past
    # moment read what a ticket was then from its last event by then (dashboards/past.py).
    # Empty on events written before these stamps existed; ``after_resolve_due_at`` is set on
    # every stamped event, so it tells the two apart.
    after_department_id = models.IntegerField(_("事件后承办部门"), null=True, blank=True)
    after_category_id = models.IntegerField(_("事件后分类"), null=True, blank=True)
    after_request_type = models.CharField(
        _("事件后诉求类型"), max_length=16, blank=True, db_default=""
    )
    after_resolve_due_at = models.DateTimeField(_("事件后办结时限"), null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("工单事件")
        verbose_name_plural = _("工单事件")
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_time"),
            # The metrics' dispatch figures (退单率) probe these two kinds once per ticket: one
            # partial index per kind, so each probe is an index-only look-up.
            models.Index(
                fields=["ticket", "created_at"],
                name="event_assign_time",
                condition=Q(kind="assign"),
            ),
            models.Index(
                fields=["ticket", "created_at"],
                name="event_return_time",
                condition=Q(kind="return_to_dispatch"),
            ),
        ]

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
    """A file a citizen sent. Stored privately, served only to those who may see the ticket.

    A website upload comes with its file. Channel media (WeChat, Weibo, 12345, Open311) arrive
    as a media id or URL: the row starts ``pending`` and the outbox worker downloads it later
    (``integrations.media``), leaving it ``downloaded`` or ``failed`` with the reason."""

    class Download(models.TextChoices):
        NONE = "", _("随表单上传")
        PENDING = "pending", _("待下载")
        DOWNLOADED = "downloaded", _("已下载")
        FAILED = "failed", _("下载失败")

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
    download = models.CharField(
        _("下载状态"), max_length=16, choices=Download.choices, default="", blank=True
    )
    download_error = models.CharField(_("下载失败原因"), max_length=300, blank=True)
    downloaded_at = models.DateTimeField(_("下载时间"), null=True, blank=True)
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
