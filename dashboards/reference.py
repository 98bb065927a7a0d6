"""The reference figures: one breakdown in four plain aggregate queries.

Over the population R of ``metrics.population`` at as_of (each ticket annotated with what it
was then, ``dashboards.past``): ``COUNT(*) FILTER``-style counts, duration
medians from window functions, working-day medians from counts grouped by (receipt date,
first-reply date), feedback. This is how each figure of specs/metrics.md was first stated; the
one-pass computation (``dashboards.rollup``, behind ``metrics.figures_all``) is tested against
it figure for figure (tests/dashboards/test_rollup.py). Nothing in the app calls it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncDate, TruncMonth

from dashboards import past
from dashboards.metrics import ALL, BREAKDOWNS, SATISFIED, group_labels, population
from dashboards.values import CHINA, Figures, Period, figures_from, mean, weighted_median
from sla import clock
from sla import services as sla
from tickets.models import (
    ExtensionRequest,
    Feedback,
    Ticket,
    TicketEvent,
)


def _group_expr(by: str) -> Any:
    """The group of a ticket of R: its month of receipt, its channel, or its department,
    category or request type as they were at as_of (``past.THEN``)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}")
    if by == "month":
        return TruncMonth("received_at", tzinfo=CHINA)
    if by == "channel":
        return F("channel")
    column = {"department": "department_id", "category": "category_id"}.get(by, by)
    return F(past.THEN[column])


def _normal_key(by: str | None, key: Any) -> Any:
    if by == "month" and key is not None:
        if isinstance(key, dt.datetime):
            key = key.astimezone(CHINA) if key.tzinfo else key
        return f"{key:%Y-%m}"
    return key


def _grouped(
    queryset: QuerySet[Any], by: str | None, aggregates: dict[str, Any]
) -> dict[Any, dict[str, Any]]:
    if by is None:
        return {ALL: queryset.aggregate(**aggregates)}
    rows = (
        queryset.annotate(group=_group_expr(by)).order_by().values("group").annotate(**aggregates)
    )
    return {_normal_key(by, row.pop("group")): row for row in rows}


def _ticket_counts(queryset: QuerySet[Ticket], by: str | None, as_of: dt.datetime) -> Any:
    acked = Q(acknowledged_at__lte=as_of)
    not_acked = Q(acknowledged_at__isnull=True) | Q(acknowledged_at__gt=as_of)
    replied = Q(first_replied_at__lte=as_of)
    unreplied = Q(first_replied_at__isnull=True) | Q(first_replied_at__gt=as_of)
    due_then = past.THEN["resolve_due_at"]

    def happened(kind: str) -> Exists:
        return Exists(
            TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=kind, created_at__lte=as_of)
        )

    assigned = happened("assign")
    extended = Exists(
        ExtensionRequest.objects.filter(
            ticket=OuterRef("pk"), status=ExtensionRequest.Status.APPROVED
        ).filter(Q(decided_at__isnull=True) | Q(decided_at__lte=as_of))
    )
    return _grouped(
        queryset,
        by,
        {
            "received": Count("pk"),
            "ack_num": Count("pk", filter=acked & Q(ack_on_time=True)),
            "ack_den": Count("pk", filter=acked | (not_acked & Q(ack_due_at__lt=as_of))),
            "replied": Count("pk", filter=replied),
            "on_time": Count("pk", filter=replied & Q(resolved_on_time=True)),
            "overdue_open": Count("pk", filter=unreplied & Q(**{f"{due_then}__lt": as_of})),
            "reopened": Count("pk", filter=replied & Q(happened("reopen"))),
            "extended": Count("pk", filter=Q(extended)),
            "assigned": Count("pk", filter=Q(assigned)),
            "returned": Count("pk", filter=Q(assigned) & Q(happened("return_to_dispatch"))),
        },
    )


def _feedback_counts(queryset: QuerySet[Ticket], by: str | None, as_of: dt.datetime) -> Any:
    """Feedback received by as_of, counted per ticket and summed per group of tickets (so a
    rating falls in the group of its ticket as the ticket was at as_of)."""
    rated = Feedback.objects.filter(ticket=OuterRef("pk"), created_at__lte=as_of)

    def per_ticket(condition: Q) -> Any:
        counted = (
            rated.filter(condition).order_by().values("ticket").annotate(n=Count("pk")).values("n")
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    annotated = queryset.annotate(
        rated_n=per_ticket(Q()),
        rated_satisfied=per_ticket(Q(satisfaction__in=SATISFIED)),
        rated_resolved=per_ticket(Q(resolved=True)),
    )
    return _grouped(
        annotated,
        by,
        {
            "feedback": Sum("rated_n"),
            "satisfied": Sum("rated_satisfied"),
            "resolved_yes": Sum("rated_resolved"),
        },
    )


def _ack_minutes_medians(
    queryset: QuerySet[Ticket], by: str | None, as_of: dt.datetime
) -> dict[Any, float | None]:
    """Median of (acknowledged_at − received_at) in minutes, per group, in one query: number
    the rows of each group by duration and keep the one or two in the middle."""
    duration = ExpressionWrapper(
        F("acknowledged_at") - F("received_at"), output_field=DurationField()
    )
    partition = [_group_expr(by)] if by is not None else None
    rows = (
        queryset.filter(acknowledged_at__lte=as_of)
        .annotate(
            group=_group_expr(by) if by is not None else F("pk") * 0,
            duration=duration,
            position=Window(RowNumber(), partition_by=partition, order_by=duration.asc()),
            size=Window(Count("pk"), partition_by=partition),
        )
        .order_by()
        .filter(position__gte=(F("size") + 1) / 2, position__lte=(F("size") + 2) / 2)
        .values_list("group", "duration")
    )
    middles: dict[Any, list[float]] = defaultdict(list)
    for group, duration_value in rows:  # one or two rows per group
        key = _normal_key(by, group) if by is not None else ALL
        middles[key].append(duration_value.total_seconds() / 60)
    return {key: mean(values) for key, values in middles.items()}


def _reply_days_medians(
    queryset: QuerySet[Ticket], by: str | None, as_of: dt.datetime
) -> dict[Any, float | None]:
    """Median working days from receipt to first reply: tickets are counted per (receipt
    date, reply date) in SQL; the working days of each distinct pair come from the calendar."""
    rows = _reply_day_pairs(queryset, by, as_of)
    if not rows:
        return {}
    first = min(row[1] for row in rows)
    last = max(row[2] for row in rows)
    calendar = sla.calendar_load(start=first, days=(last - first).days + 1)
    per_group: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for key, received_day, replied_day, count in rows:
        days = clock.working_days_between(calendar, received_day, replied_day)
        per_group[key].append((days, count))
    return {key: weighted_median(pairs) for key, pairs in per_group.items()}


def _reply_day_pairs(
    queryset: QuerySet[Ticket], by: str | None, as_of: dt.datetime
) -> list[tuple[Any, dt.date, dt.date, int]]:
    annotated = queryset.filter(first_replied_at__lte=as_of).annotate(
        received_day=TruncDate("received_at", tzinfo=CHINA),
        replied_day=TruncDate("first_replied_at", tzinfo=CHINA),
    )
    if by is not None:
        annotated = annotated.annotate(group=_group_expr(by))
        names = ["group", "received_day", "replied_day"]
    else:
        names = ["received_day", "replied_day"]
    rows = annotated.order_by().values(*names).annotate(count=Count("pk"))
    return [
        (
            _normal_key(by, row["group"]) if by is not None else ALL,
            _as_date(row["received_day"]),
            _as_date(row["replied_day"]),
            row["count"],
        )
        for row in rows
    ]


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value  # type: ignore[no-any-return]


def figures_by_queries(
    *,
    period: Period,
    as_of: dt.datetime,
    by: str | None,
    departments: Collection[int] | None = None,
) -> dict[Any, Figures]:
    """Every figure for each group of the breakdown ``by`` (None: the whole population), in
    four aggregate queries: the reference definition (``figures_by`` gives the same)."""
    queryset = population(period, as_of=as_of, departments=departments)
    counts = _ticket_counts(queryset, by, as_of)
    feedback = _feedback_counts(queryset, by, as_of)
    ack_medians = _ack_minutes_medians(queryset, by, as_of)
    day_medians = _reply_days_medians(queryset, by, as_of)
    keys = list(counts)
    if by is None and not keys:
        keys = [ALL]
    labels = group_labels(by, keys)
    return {
        key: figures_from(
            key,
            labels[key],
            {
                **counts.get(key, {}),
                **{name: int(value or 0) for name, value in feedback.get(key, {}).items()},
            },
            ack_medians.get(key),
            day_medians.get(key),
        )
        for key in keys
    }
