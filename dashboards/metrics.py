"""Every figure of ``specs/metrics.md``, in one place, computed with SQL aggregates.

Dashboards, the monthly PDF, the API and public statistics all read their numbers from here, so
a figure means the same thing everywhere. ``as_of`` is the moment the figures describe, and
every figure uses only what had happened by then: a ticket counts if it had reached us and was
not merged or invalid by then, under the department, category and request type it had then,
against the deadline in force then (``dashboards.past``, from the stamps every timeline event
carries); a reply, an acknowledgement, a feedback, an extension, an assignment, a return or a
reopening counts only if it happened by then; the on-time stamps themselves never change after
the clock stops. So the figures of a month computed again later for the same ``as_of`` are the
same figures.

Two ways to the same numbers:

- ``figures_all`` (and ``figures_by``, ``breakdown``, ``trend`` on top of it) computes the
  total and any number of breakdowns in one pass over the period's tickets
  (``dashboards.rollup``: GROUPING SETS on PostgreSQL, one Python loop over per-ticket facts
  elsewhere). This is what pages and reports use.
- ``dashboards.reference.figures_by_queries`` states the figures of one breakdown as plain aggregate queries over
  the population R: ``COUNT(*) FILTER``-style counts, duration medians from window functions,
  working-day medians from counts grouped by (receipt date, first-reply date), feedback. It is
  the reference the one-pass computation is tested against, figure for figure.

The value types (``Period``, ``Rate`` with its "—" rule, ``Figures``) live in
``dashboards.values`` and are re-exported here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from dashboards import past, rollup
from dashboards.values import CHINA as CHINA
from dashboards.values import DASH as DASH
from dashboards.values import Figures, Period, Rate, figures_from
from tickets.channels import channel_labels
from tickets.models import (
    RESOLUTION_CLOCK_STATES,
    Category,
    Department,
    RequestType,
    State,
    Ticket,
)

SAMPLE_MIN = 10
SAMPLE_SMALL = "样本不足"
UNASSIGNED = "未派单"
UNCATEGORISED = "未分类"
ALL = rollup.TOTAL  # the key of the whole population's figures
EXCLUDED_STATES = past.EXCLUDED_STATES
BREAKDOWNS = rollup.DIMENSIONS  # channel, department, category, request_type, month
SATISFIED = rollup.SATISFIED

# key, 中文 label, kind ("count", "rate", "minutes", "days") — the order tables show them in.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("received", "受理量", "count"),
    ("ack_on_time_rate", "及时受理率（30分钟）", "rate"),
    ("ack_minutes_median", "受理用时中位数（分钟）", "minutes"),
    ("reply_rate", "回复率", "rate"),
    ("on_time_rate", "按时办结率", "rate"),
    ("overdue_open", "超期未办结", "count"),
    ("satisfaction_rate", "满意率", "rate"),
    ("resolved_rate", "解决率", "rate"),
    ("reopen_rate", "重办率", "rate"),
    ("extension_rate", "延期率", "rate"),
    ("return_rate", "退单率", "rate"),
    ("reply_days_median", "办结用时中位数（工作日）", "days"),
)
FIGURE_LABELS = {key: label for key, label, _kind in FIGURES}
RANKABLE = tuple(key for key, _label, kind in FIGURES if kind == "rate")


# --- the population ---------------------------------------------------------------------------


def received_by(period: Period, as_of: dt.datetime | None = None) -> QuerySet[Ticket]:
    """Tickets received in the period (by ``as_of``, when given), in any state: the tickets
    R is taken from (a filter on ticket columns only)."""
    queryset = Ticket.objects.filter(received_at__gte=period.start, received_at__lt=period.end)
    if as_of is not None:
        queryset = queryset.filter(received_at__lte=as_of)
    return queryset


def population(
    period: Period,
    *,
    as_of: dt.datetime | None = None,
    departments: Collection[int] | None = None,
) -> QuerySet[Ticket]:
    """R: tickets received in the period, not merged, not invalid (within ``departments``,
    when given). With ``as_of``: as things stood then (``dashboards.past``: received by then,
    not merged or invalid by then, the department responsible then; the values at ``as_of``
    are annotated as ``then_*``). Without: as they stand now."""
    if as_of is not None:
        return past.in_population(received_by(period, as_of), as_of, departments)
    queryset = received_by(period)
    if departments is not None:
        queryset = queryset.filter(department_id__in=list(departments))
    return queryset.exclude(state__in=EXCLUDED_STATES)


def excluded_counts(
    period: Period,
    *,
    as_of: dt.datetime | None = None,
    departments: Collection[int] | None = None,
) -> dict[str, int]:
    """Merged and invalid tickets of the period (by ``as_of``, as things stood then), shown
    beside R, never in it."""
    if as_of is None:
        queryset = received_by(period)
        state, department = "state", "department_id"
    else:
        queryset = past.at_moment(received_by(period, as_of), as_of)
        state, department = past.THEN["state"], past.THEN["department_id"]
    if departments is not None:
        queryset = queryset.filter(**{f"{department}__in": list(departments)})
    counts = queryset.aggregate(
        merged=Count("pk", filter=Q(**{state: State.MERGED})),
        invalid=Count("pk", filter=Q(**{state: State.INVALID})),
    )
    return {"merged": counts["merged"], "invalid": counts["invalid"]}


# --- one pass: the total and every breakdown at once -------------------------------------------


@dataclass
class FigureSet:
    """The figures of one period: the whole population, each group of each breakdown asked
    for, and (when asked for) the monthly trend ending with the period's month."""

    period: Period
    as_of: dt.datetime
    total: Figures
    groups: dict[str, dict[Any, Figures]]
    trend: list[Figures] = field(default_factory=list)
    departments: Collection[int] | None = None

    def breakdown(self, by: str, *, limit: int | None = None) -> list[Figures]:
        """Rows for a table, in the order of ``breakdown``."""
        return _table_order(by, self.groups[by].values(), limit)

    def previous_month(self) -> Figures:
        """The whole population of the month before the period's (from the trend when it
        holds that month, else one more query)."""
        if self.period.is_month and len(self.trend) >= 2:
            return replace(self.trend[-2], key=ALL, label=group_labels(None, [ALL])[ALL])
        return figures(
            period=self.period.previous_month(), as_of=self.as_of, departments=self.departments
        )


def figures_all(
    *,
    period: Period,
    as_of: dt.datetime,
    breakdowns: Sequence[str] = BREAKDOWNS,
    trend_months: int = 0,
    departments: Collection[int] | None = None,
) -> FigureSet:
    """The total and every breakdown of the period in one pass over its tickets (one
    statement on PostgreSQL, whatever the number of breakdowns and groups); with
    ``trend_months``, also the monthly trend ending with the period's month (one more)."""
    wanted = list(breakdowns)
    month_of_period = Period.month_of(period.start)
    one_month = "month" in wanted and period.end <= month_of_period.end
    if one_month:  # a period inside one calendar month is that month's only group
        wanted.remove("month")
    found = _figures_grouped(period, as_of, wanted, total=True, departments=departments)
    total = found[None][ALL]
    groups = {name: found[name] for name in wanted}
    if one_month:
        key = month_of_period.key
        groups["month"] = (
            {key: replace(total, key=key, label=group_labels("month", [key])[key])}
            if total.received
            else {}
        )
    result = FigureSet(period, as_of, total, groups, departments=departments)
    if trend_months:
        result.trend = trend(
            period=period,
            as_of=as_of,
            months=trend_months,
            departments=departments,
            latest=total if period.is_month else None,
        )
    return result


def _figures_grouped(
    period: Period,
    as_of: dt.datetime,
    breakdowns: Sequence[str],
    *,
    total: bool,
    departments: Collection[int] | None,
) -> dict[str | None, dict[Any, Figures]]:
    grouped = rollup.totals_grouped(
        received=received_by(period, as_of),
        departments=departments,
        first_day=period.start.astimezone(CHINA).date(),
        as_of=as_of,
        breakdowns=breakdowns,
        total=total,
    )
    out: dict[str | None, dict[Any, Figures]] = {}
    for by, found in grouped.items():
        labels = group_labels(by, found)
        out[by] = {
            key: figures_from(
                key, labels[key], totals.counts, totals.ack_median, totals.days_median
            )
            for key, totals in found.items()
        }
    return out


def figures_by(
    *,
    period: Period,
    as_of: dt.datetime,
    by: str | None,
    departments: Collection[int] | None = None,
) -> dict[Any, Figures]:
    """Every figure for each group of the breakdown ``by`` (None: the whole population)."""
    if by is None:
        return {
            ALL: figures_all(
                period=period, as_of=as_of, breakdowns=(), departments=departments
            ).total
        }
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}")
    return _figures_grouped(period, as_of, [by], total=False, departments=departments)[by]


def figures(
    *, period: Period, as_of: dt.datetime, departments: Collection[int] | None = None
) -> Figures:
    """Every figure for the whole population of the period."""
    return figures_by(period=period, as_of=as_of, by=None, departments=departments)[ALL]


def group_labels(by: str | None, keys: Iterable[Any]) -> dict[Any, str]:
    keys = list(keys)
    if by is None:
        return {key: "合计" for key in keys}
    if by == "channel":
        channels = channel_labels()
        return {key: channels.get(key, key) for key in keys}
    if by == "request_type":
        names = dict(RequestType.choices)
        return {key: str(names.get(key, key)) for key in keys}
    if by == "department":
        found = Department.objects.in_bulk([key for key in keys if key is not None])
        return {key: found[key].name if key in found else UNASSIGNED for key in keys}
    if by == "category":
        found_categories = Category.objects.in_bulk([key for key in keys if key is not None])
        return {
            key: found_categories[key].name if key in found_categories else UNCATEGORISED
            for key in keys
        }
    return {key: f"{key[:4]}年{int(key[5:7])}月" for key in keys}  # month


def breakdown(
    *,
    period: Period,
    as_of: dt.datetime,
    by: str,
    departments: Collection[int] | None = None,
    limit: int | None = None,
) -> list[Figures]:
    """Rows for a table: largest first (months: oldest first; 未派单/未分类 last)."""
    rows = figures_by(period=period, as_of=as_of, by=by, departments=departments).values()
    return _table_order(by, rows, limit)


def _table_order(by: str, rows: Iterable[Figures], limit: int | None) -> list[Figures]:
    if by == "month":
        return sorted(rows, key=lambda row: row.key)
    ordered = sorted(rows, key=lambda row: (row.key is None, -row.received, row.label))
    return ordered[:limit] if limit is not None else ordered


def trend(
    *,
    period: Period,
    as_of: dt.datetime,
    months: int = 12,
    departments: Collection[int] | None = None,
    latest: Figures | None = None,
) -> list[Figures]:
    """The ``months`` calendar months ending with the period's month; empty months included.
    One grouped query; ``latest``, the figures of the period's month when already known,
    spares that month."""
    spans = period.months_back(months)
    asked = spans[:-1] if latest is not None else spans
    found = (
        _figures_grouped(
            Period(asked[0].start, asked[-1].end),
            as_of,
            ["month"],
            total=False,
            departments=departments,
        )["month"]
        if asked
        else {}
    )
    if latest is not None:
        found[spans[-1].key] = replace(latest, key=spans[-1].key, label=spans[-1].label)
    return [found.get(span.key) or Figures(key=span.key, label=span.label) for span in spans]


@dataclass
class LeagueRow:
    figures: Figures
    rank: int | None
    insufficient: bool


def league(rows: Iterable[Figures], *, rank_by: str = "on_time_rate") -> list[LeagueRow]:
    """Department ranking by one rate: fewer than 10 tickets in its denominator is 样本不足 and
    not ranked; equal rates share a rank. 未派单 is listed, never ranked."""
    if rank_by not in RANKABLE:
        raise ValueError(f"cannot rank by {rank_by!r}")
    ranked: list[Figures] = []
    others: list[LeagueRow] = []
    for row in rows:
        rate: Rate = getattr(row, rank_by)
        if row.key is None:
            others.append(LeagueRow(row, None, False))
        elif rate.den < SAMPLE_MIN:
            others.insert(0, LeagueRow(row, None, True))
        else:
            ranked.append(row)
    ranked.sort(
        key=lambda row: (-getattr(row, rank_by).percent, -row.received, str(row.key).zfill(12))
    )
    out: list[LeagueRow] = []
    previous: Decimal | None = None
    rank = 0
    for position, row in enumerate(ranked, start=1):
        percent = getattr(row, rank_by).percent
        if percent != previous:
            rank, previous = position, percent
        out.append(LeagueRow(row, rank, False))
    others.sort(key=lambda item: (item.figures.key is None, -item.figures.received))
    return out + others


# --- lists of cases -------------------------------------------------------------------------


def breaches_in_period(
    *, period: Period, as_of: dt.datetime, departments: Collection[int] | None = None
) -> QuerySet[Ticket]:
    """Tickets of R that missed their resolution deadline by ``as_of``: replied late, or
    still unreplied past the deadline in force then (exactly the on-time rate's denominator
    minus its numerator). The values at ``as_of`` are annotated as ``then_*``."""
    late = Q(first_replied_at__lte=as_of, resolved_on_time=False)
    overdue = (Q(first_replied_at__isnull=True) | Q(first_replied_at__gt=as_of)) & Q(
        then_resolve_due_at__lt=as_of
    )
    return (
        population(period, as_of=as_of, departments=departments)
        .filter(late | overdue)
        .order_by("received_at", "pk")
    )


def breaches_current(
    *, now: dt.datetime, departments: Collection[int] | None = None
) -> QuerySet[Ticket]:
    """Open tickets past a deadline right now: not acknowledged in time, or not replied by the
    resolution deadline while its clock runs."""
    queryset = Ticket.objects.filter(
        Q(state=State.NEW, ack_due_at__lt=now)
        | Q(state__in=RESOLUTION_CLOCK_STATES, resolve_due_at__lt=now)
    )
    if departments is not None:
        queryset = queryset.filter(department_id__in=list(departments))
    return queryset.select_related("department", "category").order_by("resolve_due_at", "pk")
