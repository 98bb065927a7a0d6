"""The inbound journal: every raw message from every channel, stored before anything else."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class InboundMessage(models.Model):
    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("已接收")
        PROCESSED = "processed", _("已处理")
        IGNORED = "ignored", _("已忽略")
        FAILED = "failed", _("处理失败")
        REJECTED = "rejected", _("已拒绝")

    channel = models.CharField(_("渠道"), max_length=16)
    account = models.CharField(_("渠道账号"), max_length=64, blank=True)
    dedupe_key = models.CharField(_("去重键"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.ACCEPTED, db_index=True
    )
    reason = models.TextField(_("原因"), blank=True)
    content_type = models.CharField(_("内容类型"), max_length=100, blank=True)
    raw_body = models.BinaryField(_("原始内容"))
    headers = models.JSONField(_("请求头"), default=dict, blank=True)
    parsed = models.JSONField(_("解析结果"), null=True, blank=True)
    response = models.JSONField(
        _("回复"), null=True, blank=True, help_text=_("第一次处理时给出的答复，重试时原样返回")
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("工单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    received_at = models.DateTimeField(_("收到时间"))
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("处理次数"), default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("收件日志")
        verbose_name_plural = _("收件日志")
        constraints = [
            models.UniqueConstraint(fields=["channel", "dedupe_key"], name="inbound_dedupe")
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.dedupe_key} ({self.get_status_display()})"
