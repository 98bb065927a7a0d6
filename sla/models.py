"""SLA configuration: the working calendar and the policies that set resolution limits."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from sla import clock


class WorkingDay(models.Model):
    """A date that differs from the plain rule: a weekday holiday or a make-up working day."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("上班"), help_text=_("勾选：调休上班日；不勾选：放假"))
    name = models.CharField(_("说明"), max_length=64, blank=True)
    source = models.CharField(_("来源"), max_length=32, default="manual")

    class Meta:
        ordering = ["date"]
        verbose_name = _("工作日历例外")
        verbose_name_plural = _("工作日历例外")

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '放假'} {self.name}".strip()


class CalendarYear(models.Model):
    """A year whose official holiday schedule has been loaded into ``WorkingDay``."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(_("来源"), max_length=64)
    imported_at = models.DateTimeField(_("导入时间"), auto_now_add=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("已覆盖年份")
        verbose_name_plural = _("已覆盖年份")

    def __str__(self) -> str:
        return f"{self.year} ({self.source})"


class SlaPolicy(models.Model):
    """A resolution limit. The most specific active policy wins: urgency, then category,
    then request type."""

    class Kind(models.TextChoices):
        RESOLUTION = "resolution", _("办结时限")
        REDO = "redo", _("重办时限")

    class Unit(models.TextChoices):
        WORKING_DAYS = clock.WORKING_DAYS, _("工作日")
        HOURS = clock.HOURS, _("小时（自然时间）")

    class Counting(models.TextChoices):
        NEXT_DAY = clock.NEXT_DAY, _("次日起算")
        SAME_DAY = clock.SAME_DAY, _("当日起算")

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.RESOLUTION)
    request_type = models.CharField(
        _("诉求类型"), max_length=16, blank=True, help_text=_("留空表示任意类型")
    )
    urgency = models.CharField(
        _("紧急程度"), max_length=16, blank=True, help_text=_("留空表示任意")
    )
    category = models.ForeignKey(
        "tickets.Category",
        verbose_name=_("分类"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
    )
    unit = models.CharField(
        _("单位"), max_length=16, choices=Unit.choices, default=Unit.WORKING_DAYS
    )
    amount = models.PositiveSmallIntegerField(_("时限"))
    counting = models.CharField(
        _("起算方式"), max_length=16, choices=Counting.choices, default=Counting.NEXT_DAY
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["kind", "request_type", "urgency"]
        verbose_name = _("时限策略")
        verbose_name_plural = _("时限策略")

    def __str__(self) -> str:
        return f"{self.name}: {self.amount} {self.get_unit_display()}"

    def as_policy(self) -> clock.Policy:
        return clock.Policy(unit=self.unit, amount=self.amount, counting=self.counting)
