"""System check: warn when the working calendar does not cover the next 90 days."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register
from django.db import DatabaseError
from django.utils import timezone


@register("sla", deploy=False)
def calendar_coverage_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    from sla.services import calendar_uncovered_days

    try:
        missing = calendar_uncovered_days(today=timezone.localdate())
    except DatabaseError:
        return []  # not migrated yet: migrate will seed the calendar
    if not missing:
        return []
    years = ", ".join(str(day.year) for day in missing)
    return [
        Warning(
            f"工作日历未覆盖未来90天（缺少 {years} 年的放假安排），跨越这些日期的时限按普通周末规则计算并标记为未确认。",
            hint="在管理后台导入国务院当年的放假安排，或运行 python manage.py calendar_import FILE。",
            id="sla.W001",
        )
    ]
