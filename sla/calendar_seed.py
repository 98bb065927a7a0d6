"""Seeding the working calendar from the ``chinesecalendar`` package."""

from __future__ import annotations

import datetime as dt
from typing import Any

SOURCE = "chinesecalendar"


def chinesecalendar_years() -> range:
    import chinese_calendar

    years = sorted({day.year for day in chinese_calendar.holidays})
    return range(years[0], years[-1] + 1)


def exceptions_for_year(year: int) -> list[tuple[dt.date, bool, str]]:
    """Dates of ``year`` that differ from Mon-Fri work / Sat-Sun rest, with the holiday name."""
    import chinese_calendar

    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        workday = chinese_calendar.is_workday(day)
        if workday != (day.weekday() < 5):
            _on_holiday, name = chinese_calendar.get_holiday_detail(day)
            label = str(name or "")
            out.append((day, workday, ("调休上班 " + label).strip() if workday else label))
        day += dt.timedelta(days=1)
    return out


def seed(working_day_model: Any, calendar_year_model: Any) -> int:
    """Load every year chinesecalendar knows; years already present are left as they are
    (an administrator may have edited them). Returns the number of years added."""
    added = 0
    for year in chinesecalendar_years():
        if calendar_year_model.objects.filter(year=year).exists():
            continue
        working_day_model.objects.bulk_create(
            [
                working_day_model(date=day, is_workday=work, name=name, source=SOURCE)
                for day, work, name in exceptions_for_year(year)
            ],
            ignore_conflicts=True,
        )
        calendar_year_model.objects.create(year=year, source=SOURCE)
        added += 1
    return added
