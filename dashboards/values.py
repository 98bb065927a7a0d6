"""Value types of the metrics: periods, rates (with the "—" rule) and a group's figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
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


# --- pure helpers shared by both ways of computing figures ------------------------------------


def weighted_median(pairs: Iterable[tuple[int, int]]) -> float | None:
    """Median of values given as (value, how many times): the middle one, or the mean of the
    two middle ones."""
    ordered = sorted(pairs)
    total = sum(count for _value, count in ordered)
    if total == 0:
        return None
    wanted = sorted({(total - 1) // 2, total // 2})  # zero-based positions of the middle
    picked: list[float] = []
    seen = 0
    for value, count in ordered:
        for position in wanted:
            if seen <= position < seen + count:
                picked.append(value)
        seen += count
    return sum(picked) / len(picked)


def mean(values: list[float]) -> float | None:
    if not values:
        return None
    return sum(values) / len(values)


def figures_from(
    key: Any,
    label: str,
    counts: dict[str, int],
    ack_median: float | None,
    days_median: float | None,
) -> Figures:
    """A group's Figures from its counts (``COUNT_KEYS``; missing ones are 0) and medians."""
    received = counts.get("received", 0)
    replied = counts.get("replied", 0)
    overdue = counts.get("overdue_open", 0)
    received_feedback = counts.get("feedback", 0)
    return Figures(
        key=key,
        label=label,
        received=received,
        ack_on_time_rate=Rate(counts.get("ack_num", 0), counts.get("ack_den", 0)),
        ack_minutes_median=ack_median,
        reply_rate=Rate(replied, received),
        on_time_rate=Rate(counts.get("on_time", 0), replied + overdue),
        overdue_open=overdue,
        satisfaction_rate=Rate(counts.get("satisfied", 0), received_feedback),
        resolved_rate=Rate(counts.get("resolved_yes", 0), received_feedback),
        reopen_rate=Rate(counts.get("reopened", 0), replied),
        extension_rate=Rate(counts.get("extended", 0), received),
        return_rate=Rate(counts.get("returned", 0), counts.get("assigned", 0)),
        reply_days_median=days_median,
    )


# The counts every group's figures are made of (see specs/metrics.md for each definition).
COUNT_KEYS = (
    "received",
    "ack_num",
    "ack_den",
    "replied",
    "on_time",
    "overdue_open",
    "reopened",
    "extended",
    "assigned",
    "returned",
    "feedback",
    "satisfied",
    "resolved_yes",
)
