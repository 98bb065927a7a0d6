"""Public figures per department: reply rate, on-time rate and satisfaction.

Every figure comes from ``dashboards.metrics`` (the one definition of each KPI, in SQL), so the
public page, the dashboards and the monthly report always agree. Withheld public records count
here like any other case: the figures come from tickets, not from what is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from dashboards import metrics
from tickets.models import Ticket

RANK_BY = "on_time_rate"


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def display(self) -> str:
        """A percentage with one decimal; "—" when there is nothing to divide by."""
        return metrics.Rate(self.numerator, self.denominator).display

    @property
    def small_sample(self) -> bool:
        """Fewer than 10 in the denominator: 样本不足 (not ranked)."""
        return 0 < self.denominator < metrics.SAMPLE_MIN


@dataclass(frozen=True)
class DepartmentFigures:
    department_id: int | None
    name: str
    received: int
    reply_rate: Rate
    on_time_rate: Rate
    satisfaction_rate: Rate
    rank: int | None = None
    insufficient: bool = False
    total: bool = False

    @property
    def rates(self) -> list[Rate]:
        return [self.reply_rate, self.on_time_rate, self.satisfaction_rate]


def _rate(rate: metrics.Rate) -> Rate:
    return Rate(rate.num, rate.den)


def _row(
    figures: metrics.Figures,
    *,
    rank: int | None = None,
    insufficient: bool = False,
    total: bool = False,
) -> DepartmentFigures:
    return DepartmentFigures(
        department_id=None if total else figures.key,
        name="合计" if total else figures.label,
        received=figures.received,
        reply_rate=_rate(figures.reply_rate),
        on_time_rate=_rate(figures.on_time_rate),
        satisfaction_rate=_rate(figures.satisfaction_rate),
        rank=rank,
        insufficient=insufficient,
        total=total,
    )


def population(start: dt.datetime, end: dt.datetime) -> QuerySet[Ticket]:
    return metrics.population(metrics.Period(start, end))


def department_figures(
    *, start: dt.datetime, end: dt.datetime, as_of: dt.datetime | None = None
) -> list[DepartmentFigures]:
    """The 合计 row first, then each department ranked by on-time rate (样本不足 unranked)."""
    as_of = as_of or timezone.now()
    period = metrics.Period(start, end)
    found = metrics.figures_all(period=period, as_of=as_of, breakdowns=("department",))
    total, rows = found.total, found.breakdown("department")
    league = metrics.league(rows, rank_by=RANK_BY)
    return [_row(total, total=True)] + [
        _row(item.figures, rank=item.rank, insufficient=item.insufficient) for item in league
    ]
