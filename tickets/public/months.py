"""Calendar months in the city's time zone (Asia/Shanghai), as the public pages use them."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_parse(value: str | None) -> tuple[int, int] | None:
    match = MONTH.match((value or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return year, month


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The first moment of the month and of the next one, in local time."""
    zone = timezone.get_default_timezone()
    start = dt.datetime(year, month, 1, tzinfo=zone)
    following = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, following


def month_current() -> tuple[int, int]:
    today = timezone.localdate()
    return today.year, today.month


def months_back(count: int, *, start: tuple[int, int] | None = None) -> list[tuple[int, int]]:
    year, month = start or month_current()
    out = []
    for _ in range(count):
        out.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"
