"""The archive of monthly PDF reports (files kept in private storage, never a public URL)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MonthlyReport(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已生成")
        FAILED = "failed", _("生成失败")

    month = models.DateField(_("月份"), unique=True, help_text=_("该月 1 日"))
    as_of = models.DateTimeField(_("数据截至"), null=True, blank=True)
    file = models.FileField(_("文件"), upload_to="reports/", blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    step = models.CharField(_("当前步骤"), max_length=64, blank=True)
    error = models.TextField(_("错误"), blank=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("为空表示每月自动生成"),
    )
    requested_at = models.DateTimeField(_("请求时间"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("月度报告")
        verbose_name_plural = _("月度报告")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.get_status_display()})"

    @property
    def month_key(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def label(self) -> str:
        return f"{self.month.year}年{self.month.month}月"
