"""Value types of the metrics: periods, rates (with the "—" rule) and a group's figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sla import clock

CHINA = clock.CHINA
DASH = "—"


@dataclass(frozen=True)
class Period:
    """[start, end) in Asia/Shanghai; normally one calendar month."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.datetime(year, month, 1, tzinfo=CHINA)
        following = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=CHINA)
        return cls(start, following)

    @classmethod
    def month_of(cls, moment: dt.datetime) -> Period:
        local = clock.aware(moment).astimezone(CHINA)
        return cls.month(local.year, local.month)

    @classmethod
    def days(cls, first: dt.date, last: dt.date) -> Period:
        start = dt.datetime.combine(first, dt.time(0, 0), tzinfo=CHINA)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0, 0), tzinfo=CHINA)
        return cls(start, end)

    @property
    def is_month(self) -> bool:
        start = self.start.astimezone(CHINA)
        return start.day == 1 and start.time() == dt.time(0) and self == Period.month_of(start)

    @property
    def key(self) -> str:
        start = self.start.astimezone(CHINA)
        if self.is_month:
            return f"{start:%Y-%m}"
        last = (self.end.astimezone(CHINA) - dt.timedelta(seconds=1)).date()
        return f"{start:%Y-%m-%d}_{last:%Y-%m-%d}"

    @property
    def label(self) -> str:
        start = self.start.astimezone(CHINA)
        if self.is_month:
            return f"{start.year}年{start.month}月"
        last = (self.end.astimezone(CHINA) - dt.timedelta(seconds=1)).date()
        return f"{start:%Y-%m-%d} 至 {last:%Y-%m-%d}"

    def previous_month(self) -> Period:
        start = self.start.astimezone(CHINA)
        return Period.month(start.year - (start.month == 1), (start.month - 2) % 12 + 1)

    def months_back(self, count: int) -> list[Period]:
        """The ``count`` calendar months ending with this period's month, oldest first."""
        months = [Period.month_of(self.start)]
        while len(months) < count:
            months.insert(0, months[0].previous_month())
        return months


@dataclass(frozen=True)
class Rate:
    """A percentage with its numerator and denominator; "—" when nothing to divide by."""

    num: int
    den: int

    @property
    def percent(self) -> Decimal | None:
        if self.den == 0:
            return None
        value = Decimal(self.num) * 100 / Decimal(self.den)
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def display(self) -> str:
        percent = self.percent
        return DASH if percent is None else f"{percent}%"

    @property
    def detail(self) -> str:
        return f"{self.num}/{self.den}"

    def __str__(self) -> str:
        return self.display


def number_display(value: float | int | None) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{Decimal(str(value)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"
    return str(value)


@dataclass
class Figures:
    """Every figure for one group (the whole population, a department, a month, …)."""

    key: Any
    label: str
    received: int = 0
    ack_on_time_rate: Rate = Rate(0, 0)
    ack_minutes_median: float | None = None
    reply_rate: Rate = Rate(0, 0)
    on_time_rate: Rate = Rate(0, 0)
    overdue_open: int = 0
    satisfaction_rate: Rate = Rate(0, 0)
    resolved_rate: Rate = Rate(0, 0)
    reopen_rate: Rate = Rate(0, 0)
    extension_rate: Rate = Rate(0, 0)
    return_rate: Rate = Rate(0, 0)
    reply_days_median: float | None = None

    def value(self, key: str) -> Any:
        return getattr(self, key)

    def display(self, key: str) -> str:
        value = getattr(self, key)
        return value.display if isinstance(value, Rate) else number_display(value)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: rates as {percent, num, den, display}."""
        out: dict[str, Any] = {"key": self.key, "label": self.label}
        for item in fields(self):
            if item.name in ("key", "label"):
                continue
            value = getattr(self, item.name)
            if isinstance(value, Rate):
                percent = value.percent
                out[item.name] = {
                    "percent": float(percent) if percent is not None else None,
                    "num": value.num,
                    "den": value.den,
                    "display": value.display,
                }
            else:
                out[item.name] = value
        return out
