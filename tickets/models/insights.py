"""What the text models keep: the latest hot-issue snapshot, lead-case links, and the trained
routing models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.models.ticket import Ticket


class HotspotRun(models.Model):
    """One computation of the hot issues. Only the newest is kept (with its issues): each run
    replaces the previous one in a single transaction, so readers see one or the other."""

    computed_at = models.DateTimeField(_("计算时间"))
    window_start = models.DateTimeField(_("窗口起点"))
    tickets = models.PositiveIntegerField(_("参与计算的工单"), default=0)
    took_ms = models.PositiveIntegerField(_("用时（毫秒）"), default=0)

    class Meta:
        verbose_name = _("热点计算")
        verbose_name_plural = _("热点计算")

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d %H:%M} ({self.tickets})"


class HotIssue(models.Model):
    """A cluster of tickets reporting one problem at one place (热点)."""

    run = models.ForeignKey(HotspotRun, on_delete=models.CASCADE, related_name="issues")
    label = models.CharField(_("关键词"), max_length=100, blank=True)
    area = models.CharField(_("地点"), max_length=300, blank=True)
    size = models.PositiveIntegerField(_("工单数"))
    first_at = models.DateTimeField(_("最早收到"))
    last_at = models.DateTimeField(_("最近收到"))
    cohesion = models.FloatField(_("相似度"), default=0.0)
    lead = models.ForeignKey(
        Ticket,
        verbose_name=_("建议主案"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-size", "-last_at", "id"]
        verbose_name = _("热点问题")
        verbose_name_plural = _("热点问题")

    def __str__(self) -> str:
        return f"{self.area} {self.label} ({self.size})".strip()


class HotIssueMember(models.Model):
    issue = models.ForeignKey(HotIssue, on_delete=models.CASCADE, related_name="members")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("热点工单")
        verbose_name_plural = _("热点工单")
        constraints = [
            models.UniqueConstraint(fields=["issue", "ticket"], name="hot_issue_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.issue_id}: {self.ticket_id}"


class CaseLink(models.Model):
    """关联主案: an open ticket handled under a lead case. Unlike a merge, the linked ticket
    stays open and its citizen still gets an answer; the lead gathers the reports."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="lead_link")
    lead = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="linked_cases")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("关联时间"))

    class Meta:
        verbose_name = _("关联主案")
        verbose_name_plural = _("关联主案")

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.lead_id}"


class RoutingModel(models.Model):
    """A routing-suggestion model trained on closed tickets: weights as a compressed numpy
    archive (no pickle: loading it runs no code). Every web worker reads the newest ready one."""

    class Status(models.TextChoices):
        TRAINING = "training", _("训练中")
        READY = "ready", _("可用")
        FAILED = "failed", _("失败")
        TOO_LITTLE = "too_little", _("历史工单不足")

    trained_for = models.DateField(_("训练批次（日期）"), unique=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.TRAINING
    )
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    samples = models.PositiveIntegerField(_("训练工单"), default=0)
    weights = models.BinaryField(_("权重"), blank=True, default=b"")
    metrics = models.JSONField(_("评估"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-trained_for"]
        verbose_name = _("派单建议模型")
        verbose_name_plural = _("派单建议模型")

    def __str__(self) -> str:
        return f"{self.trained_for} {self.get_status_display()}"
