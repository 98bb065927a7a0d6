"""Every breakdown of a period in one pass over its tickets (the monthly report; issue 8, W5).

``reference.figures_by_queries`` states each figure as plain aggregate queries, four per
breakdown; the report wants the total and four or five breakdowns, i.e. twenty-odd scans of
the month's tickets. Here the facts of each ticket are worked out once — the flag behind each
count, the acknowledgement time, the working days to the first reply, its feedback — and
aggregated for every group of every breakdown at once:

Each ticket counts as it was at ``as_of`` (``dashboards.past``: not yet merged or invalid, its
department, category, request type and deadline then), whatever happened to it since.

- on PostgreSQL, one statement: the facts in a subquery, aggregated with GROUPING SETS; each
  median with one ``percentile_disc`` (one sort per group gives both middle values); the
  working days through an array of cumulative working-day counts taken from the calendar;
- elsewhere (the embedded SQLite mode), one query for the facts of every ticket and one for
  their feedback, aggregated in Python in one loop.

Both give exactly what the per-breakdown queries give (tests/dashboards/test_rollup.py): the
same population, the same conditions, the same middle values and the same arithmetic on them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from dashboards import past
from dashboards.values import CHINA, COUNT_KEYS, mean, weighted_median
from sla import clock
from sla import services as sla
from tickets.models import ExtensionRequest, Feedback, Ticket, TicketEvent

TOTAL = "all"  # the key of the whole population's group (metrics.ALL)
DIMENSIONS = ("channel", "department", "category", "request_type", "month")
SATISFIED = (Feedback.Satisfaction.SATISFIED, Feedback.Satisfaction.BASICALLY_SATISFIED)
# percentile_disc(f) is the value at position ceil(f·n) of the sorted group: f = 0.5 gives the
# lower middle value, f a hair above 0.5 the upper one (floor(n/2) + 1; the same row when n is
# odd), both from one sort. Exact for groups of fewer than 5·10⁹ rows.
UPPER_MIDDLE = 0.5000000001
# None: the database's own engine ("sql" on PostgreSQL, else "python"); the tests set "python"
# to hold the portable engine to the reference on PostgreSQL too.
ENGINE: str | None = None


@dataclass
class Totals:
    """One group's counts (``COUNT_KEYS``) and medians, before labels are attached."""

    counts: dict[str, int] = field(default_factory=dict)
    ack_median: float | None = None
    days_median: float | None = None


# breakdown name → group key → totals; the whole population under None → {TOTAL: …}
Grouped = dict[str | None, dict[Any, Totals]]


def totals_grouped(
    *,
    received: QuerySet[Ticket],
    departments: Collection[int] | None = None,
    first_day: dt.date,
    as_of: dt.datetime,
    breakdowns: Sequence[str],
    total: bool = True,
    engine: str | None = None,
) -> Grouped:
    """Counts and medians of the population R at ``as_of`` — of ``received`` (tickets
    received on or after ``first_day``, in Asia/Shanghai, by ``as_of``; a filter on ticket
    columns only), those counted as things stood at ``as_of`` (``dashboards.past``), within
    ``departments`` when given — for the whole population (when ``total``) and each group of
    each of ``breakdowns``, in one pass. ``engine``: "sql" (PostgreSQL only) or "python"; by
    default the database's own."""
    for name in breakdowns:
        if name not in DIMENSIONS:
            raise ValueError(f"unknown breakdown {name!r}")
    if not breakdowns and not total:
        return {}
    vendor = connections[received.db].vendor
    engine = engine or ENGINE or ("sql" if vendor == "postgresql" else "python")
    days = _WorkingDays(first_day, max(clock.aware(as_of).astimezone(CHINA).date(), first_day))
    scope = sorted(departments) if departments is not None else None
    if engine == "sql":
        return _sql_grouped(received, scope, days, as_of, list(breakdowns), total)
    population = past.in_population(received, as_of, scope)
    return _python_grouped(population, days, as_of, list(breakdowns), total)


class _WorkingDays:
    """Working days d with ``after`` < d <= ``through`` for days in [first, last], from the
    calendar (the pause rule of ``clock.working_days_between``), as differences of
    cumulative counts."""

    def __init__(self, first: dt.date, last: dt.date) -> None:
        self.first = first
        span = (last - first).days + 1
        calendar = sla.calendar_load(start=first, days=span)
        running = 0
        self.cumulative: list[int] = []
        for offset in range(span):
            running += calendar.is_workday(first + dt.timedelta(days=offset))
            self.cumulative.append(running)

    def between(self, after: dt.date, through: dt.date) -> int:
        if through <= after:
            return 0
        return (
            self.cumulative[(through - self.first).days]
            - self.cumulative[(after - self.first).days]
        )


# --- PostgreSQL: one statement with GROUPING SETS ---------------------------------------------


def _sql_grouped(
    received: QuerySet[Ticket],
    departments: list[int] | None,
    days: _WorkingDays,
    as_of: dt.datetime,
    breakdowns: list[str],
    total: bool,
) -> Grouped:
    connection = connections[received.db]
    if connection.vendor != "postgresql":
        raise ValueError("the SQL engine needs PostgreSQL")
    sql, params = _sql_statement(received, departments, days, as_of, breakdowns, total)
    # No work_mem raise: measured on the bench data (300,000 tickets), the statement takes the
    # same time with the default 4 MB (its sorts spill to disk) as with 64 MB.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(breakdowns)
    grouped: Grouped = {name: {} for name in breakdowns}
    if total:
        grouped[None] = {TOTAL: Totals(counts=dict.fromkeys(COUNT_KEYS, 0))}
    for row in rows:
        mask, keys, numbers = row[0], row[1 : 1 + width], row[1 + width :]
        ack_middle, days_middle = numbers[-2:]
        totals = Totals(
            counts=dict(zip(COUNT_KEYS, (int(value or 0) for value in numbers[:-2]), strict=True)),
            ack_median=mean([value.total_seconds() / 60 for value in ack_middle])
            if ack_middle
            else None,
            days_median=mean(days_middle) if days_middle else None,
        )
        # GROUPING(d0, d1, …) sets the bit of each column a row is *not* grouped by, d0 the
        # highest; a breakdown's row is grouped by exactly one column, the total's by none.
        grouped_by = [i for i in range(width) if not mask & (1 << (width - 1 - i))]
        if not grouped_by:
            grouped[None][TOTAL] = totals
        else:
            grouped[breakdowns[grouped_by[0]]][keys[grouped_by[0]]] = totals
    return grouped


_COUNTS_SQL = (
    "COUNT(*)",
    "COUNT(*) FILTER (WHERE ack_num)",
    "COUNT(*) FILTER (WHERE ack_den)",
    "COUNT(*) FILTER (WHERE replied)",
    "COUNT(*) FILTER (WHERE on_time)",
    "COUNT(*) FILTER (WHERE overdue_open)",
    "COUNT(*) FILTER (WHERE reopened)",
    "COUNT(*) FILTER (WHERE extended)",
    "COUNT(*) FILTER (WHERE assigned)",
    "COUNT(*) FILTER (WHERE assigned AND returned)",
    "SUM(feedback)",
    "SUM(satisfied)",
    "SUM(resolved_yes)",
)  # in the order of COUNT_KEYS


def _sql_statement(
    received: QuerySet[Ticket],
    departments: list[int] | None,
    days: _WorkingDays,
    as_of: dt.datetime,
    breakdowns: list[str],
    total: bool,
) -> tuple[str, dict[str, Any]]:
    """The statement and its named parameters. The WHERE clause of ``received`` (compiled by
    Django, so that the period is defined in one place) filters the ticket table; what each
    ticket was at ``as_of`` follows the rule of ``dashboards.past``."""
    connection = connections[received.db]
    query = received.query
    base = query.base_table
    if any(query.alias_refcount[alias] for alias in query.alias_map if alias != base):
        raise ValueError("the received tickets must be filtered on ticket columns only")
    where_sql, where_params = query.get_compiler(connection=connection).compile(query.where)
    params: dict[str, Any] = {
        "as_of": as_of,
        "tz": CHINA.key,
        "first_day": days.first,
        "cumulative": days.cumulative,
        "approved": ExtensionRequest.Status.APPROVED,
        "assign": "assign",
        "return": "return_to_dispatch",
        "reopen": "reopen",
        "excluded": list(past.EXCLUDED_STATES),
        "departments": departments,
        "satisfied": list(SATISFIED),
        "upper": UPPER_MIDDLE,
    }
    pieces = where_sql.split("%s")
    where_sql = pieces[0]
    for index, (value, piece) in enumerate(zip(where_params, pieces[1:], strict=True)):
        params[f"where{index}"] = value
        where_sql += f"%(where{index})s{piece}"
    qn = connection.ops.quote_name
    events = qn(TicketEvent._meta.db_table)
    dimension = {
        "channel": "r.channel",
        "department": "r.department_id",
        "category": "r.category_id",
        "request_type": "r.request_type",
        "month": "to_char(r.received_at AT TIME ZONE %(tz)s, 'YYYY-MM')",
    }
    names = [f"d{index}" for index in range(len(breakdowns))]
    dims = "".join(f"{dimension[name]} AS d{index}, " for index, name in enumerate(breakdowns))
    acked = "r.acknowledged_at <= %(as_of)s"
    replied = "r.first_replied_at <= %(as_of)s"
    # R comes sorted by id, and each per-ticket fact from another table is a list of ticket
    # ids (sorted by its index on (ticket, …)): the planner merges them in one sweep instead of
    # probing an index once per ticket per fact.
    facts = f"""
        SELECT {dims}
            COALESCE({acked} AND r.ack_on_time, false) AS ack_num,
            COALESCE({acked} OR ((r.acknowledged_at IS NULL OR r.acknowledged_at > %(as_of)s)
                                 AND r.ack_due_at < %(as_of)s), false) AS ack_den,
            COALESCE({replied}, false) AS replied,
            COALESCE({replied} AND r.resolved_on_time, false) AS on_time,
            COALESCE((r.first_replied_at IS NULL OR r.first_replied_at > %(as_of)s)
                     AND r.resolve_due_at < %(as_of)s, false) AS overdue_open,
            COALESCE({replied}, false) AND reopened.ticket_id IS NOT NULL AS reopened,
            extended.ticket_id IS NOT NULL AS extended,
            assigned.ticket_id IS NOT NULL AS assigned,
            returned.ticket_id IS NOT NULL AS returned,
            COALESCE(feedback.n, 0) AS feedback,
            COALESCE(feedback.satisfied, 0) AS satisfied,
            COALESCE(feedback.resolved_yes, 0) AS resolved_yes,
            CASE WHEN {acked} THEN r.acknowledged_at - r.received_at END AS ack_duration,
            CASE WHEN {replied} THEN
                CASE WHEN r.replied_day <= r.received_day THEN 0
                     ELSE (%(cumulative)s::int[])[r.replied_day - %(first_day)s::date + 1]
                          - (%(cumulative)s::int[])[r.received_day - %(first_day)s::date + 1]
                END
            END AS reply_days
        FROM ({_as_of_sql(where_sql, qn)}) r
        LEFT JOIN (SELECT DISTINCT ticket_id FROM {events}
                   WHERE kind = %(reopen)s AND created_at <= %(as_of)s) reopened
               ON reopened.ticket_id = r.id
        LEFT JOIN (SELECT DISTINCT ticket_id FROM {events}
                   WHERE kind = %(assign)s AND created_at <= %(as_of)s) assigned
               ON assigned.ticket_id = r.id
        LEFT JOIN (SELECT DISTINCT ticket_id FROM {events}
                   WHERE kind = %(return)s AND created_at <= %(as_of)s) returned
               ON returned.ticket_id = r.id
        LEFT JOIN (SELECT DISTINCT ticket_id FROM {qn(ExtensionRequest._meta.db_table)}
                   WHERE status = %(approved)s
                     AND (decided_at IS NULL OR decided_at <= %(as_of)s)) extended
               ON extended.ticket_id = r.id
        LEFT JOIN (SELECT ticket_id, COUNT(*) AS n,
                          COUNT(*) FILTER (WHERE satisfaction = ANY(%(satisfied)s)) AS satisfied,
                          COUNT(*) FILTER (WHERE resolved) AS resolved_yes
                   FROM {qn(Feedback._meta.db_table)} WHERE created_at <= %(as_of)s
                   GROUP BY ticket_id ORDER BY ticket_id) feedback
               ON feedback.ticket_id = r.id
        WHERE r.state IS NOT NULL AND r.state <> ALL(%(excluded)s)"""
    if departments is not None:
        facts += " AND r.department_id = ANY(%(departments)s)"
    if names and (total or len(names) > 1):
        mask = f"GROUPING({', '.join(names)})"
        sets = (["()"] if total else []) + [f"({name})" for name in names]
        group_by = f"GROUP BY GROUPING SETS ({', '.join(sets)})"
    elif names:  # one breakdown, no total: every row is one of its groups
        mask, group_by = "0", f"GROUP BY {names[0]}"
    else:
        mask, group_by = "0", ""
    statement = f"""
        WITH {_moved_sql(where_sql, qn)}
        SELECT {mask}, {"".join(f"{name}, " for name in names)}{", ".join(_COUNTS_SQL)},
               percentile_disc(ARRAY[0.5, %(upper)s]) WITHIN GROUP (ORDER BY ack_duration),
               percentile_disc(ARRAY[0.5, %(upper)s]) WITHIN GROUP (ORDER BY reply_days)
        FROM ({facts}) facts
        {group_by}"""
    return statement, params


def _moved_sql(where_sql: str, qn: Any) -> str:
    """The received tickets with an event after ``as_of`` (none when ``as_of`` is now): a
    common table of the statement, read by ``_as_of_sql`` twice."""
    events, tickets = qn(TicketEvent._meta.db_table), qn(Ticket._meta.db_table)
    return f"""moved AS (
            SELECT DISTINCT ticket_id FROM {events}
            WHERE created_at > %(as_of)s
              AND ticket_id IN (SELECT id FROM {tickets} WHERE {where_sql}))"""


def _as_of_sql(where_sql: str, qn: Any) -> str:
    """The received tickets as they were at ``as_of`` (the rule of ``dashboards.past``): a
    ticket with an event after ``as_of`` takes its state and stamped values from its last
    event by then (no such event: not with us yet, state NULL; an unstamped event: its
    current values); any other ticket is read as it is. The last events are looked up only
    for the tickets in ``moved``, all at once (one sort, not one probe per ticket)."""
    events, t = qn(TicketEvent._meta.db_table), qn(Ticket._meta.db_table)
    stamped = "last.after_resolve_due_at IS NOT NULL"
    values = ", ".join(
        f"CASE WHEN {stamped} THEN last.{stamp} ELSE {t}.{column} END AS {column}"
        for column, (stamp, _output) in past.STAMPS.items()
    )
    stamps = ", ".join(f"e.{stamp}" for stamp, _output in past.STAMPS.values())
    return f"""
            SELECT {t}.id, {t}.channel, {t}.received_at, {t}.acknowledged_at,
                   {t}.ack_on_time, {t}.ack_due_at, {t}.first_replied_at,
                   {t}.resolved_on_time,
                   CASE WHEN moved.ticket_id IS NULL THEN {t}.state ELSE last.to_state END
                       AS state,
                   {values},
                   ({t}.received_at AT TIME ZONE %(tz)s)::date AS received_day,
                   ({t}.first_replied_at AT TIME ZONE %(tz)s)::date AS replied_day
            FROM {t}
            LEFT JOIN moved ON moved.ticket_id = {t}.id
            LEFT JOIN (
                SELECT DISTINCT ON (e.ticket_id) e.ticket_id, e.to_state, {stamps}
                FROM {events} e JOIN moved m ON m.ticket_id = e.ticket_id
                WHERE e.created_at <= %(as_of)s
                ORDER BY e.ticket_id, e.created_at DESC, e.id DESC
            ) last ON last.ticket_id = {t}.id
            WHERE {where_sql}
            ORDER BY {t}.id"""


# --- anywhere else: the facts of each ticket, aggregated in Python ----------------------------


@dataclass
class _Group:
    counts: list[int] = field(default_factory=lambda: [0] * len(COUNT_KEYS))
    ack_durations: list[dt.timedelta] = field(default_factory=list)
    reply_days: Counter[int] = field(default_factory=Counter)

    def add(self, other: _Group) -> None:
        self.counts = [
            mine + theirs for mine, theirs in zip(self.counts, other.counts, strict=True)
        ]
        self.ack_durations.extend(other.ack_durations)
        self.reply_days.update(other.reply_days)

    def totals(self) -> Totals:
        ordered = sorted(self.ack_durations)
        size = len(ordered)
        positions = sorted({(size - 1) // 2, size // 2}) if size else []
        middle = [ordered[position] for position in positions]
        return Totals(
            counts=dict(zip(COUNT_KEYS, self.counts, strict=True)),
            ack_median=mean([value.total_seconds() / 60 for value in middle]) if size else None,
            days_median=weighted_median(self.reply_days.items()),
        )


def _python_grouped(
    population: QuerySet[Ticket],
    days: _WorkingDays,
    as_of: dt.datetime,
    breakdowns: list[str],
    total: bool,
) -> Grouped:
    """Two queries (the tickets of R with their values at ``as_of`` and their event and
    extension flags; their feedback), then one loop: each ticket adds to the group of its combination of breakdown keys, and the
    combinations add up to each breakdown's groups."""
    feedback: dict[int, list[int]] = {}
    rated = Feedback.objects.filter(ticket__in=population.values("pk"), created_at__lte=as_of)
    for ticket_id, satisfaction, resolved in rated.values_list(
        "ticket_id", "satisfaction", "resolved"
    ):
        numbers = feedback.setdefault(ticket_id, [0, 0, 0])
        numbers[0] += 1
        numbers[1] += satisfaction in SATISFIED
        numbers[2] += resolved is True
    rows = population.annotate(
        is_extended=Exists(
            ExtensionRequest.objects.filter(
                ticket=OuterRef("pk"), status=ExtensionRequest.Status.APPROVED
            ).filter(Q(decided_at__isnull=True) | Q(decided_at__lte=as_of))
        ),
        is_assigned=Exists(
            TicketEvent.objects.filter(ticket=OuterRef("pk"), kind="assign", created_at__lte=as_of)
        ),
        is_returned=Exists(
            TicketEvent.objects.filter(
                ticket=OuterRef("pk"), kind="return_to_dispatch", created_at__lte=as_of
            )
        ),
        is_reopened=Exists(
            TicketEvent.objects.filter(ticket=OuterRef("pk"), kind="reopen", created_at__lte=as_of)
        ),
    ).values_list(
        "pk",
        "channel",
        past.THEN["department_id"],
        past.THEN["category_id"],
        past.THEN["request_type"],
        "received_at",
        "acknowledged_at",
        "ack_on_time",
        "ack_due_at",
        "first_replied_at",
        "resolved_on_time",
        past.THEN["resolve_due_at"],
        "is_reopened",
        "is_extended",
        "is_assigned",
        "is_returned",
    )
    combinations: dict[tuple[Any, ...], _Group] = {}
    for row in rows.order_by():
        (pk, channel, department, category, request_type, received, acked_at, ack_on_time,
         ack_due, replied_at, on_time, resolve_due, reopened, extended, assigned,
         returned) = row  # fmt: skip
        local = received.astimezone(CHINA)
        keys = {
            "channel": channel,
            "department": department,
            "category": category,
            "request_type": request_type,
            "month": f"{local:%Y-%m}",
        }
        acked_for = acked_at - received if acked_at is not None and acked_at <= as_of else None
        replied_on = (
            replied_at.astimezone(CHINA).date()
            if replied_at is not None and replied_at <= as_of
            else None
        )
        acked, replied = acked_for is not None, replied_on is not None
        group = combinations.setdefault(tuple(keys[name] for name in breakdowns), _Group())
        for index, value in enumerate(
            (
                1,
                acked and ack_on_time is True,
                acked or ack_due < as_of,
                replied,
                replied and on_time is True,
                not replied and resolve_due < as_of,
                replied and reopened,
                extended,
                assigned,
                assigned and returned,
                *feedback.get(pk, (0, 0, 0)),
            )
        ):
            group.counts[index] += int(value)
        if acked_for is not None:
            group.ack_durations.append(acked_for)
        if replied_on is not None:
            group.reply_days[days.between(local.date(), replied_on)] += 1
    grouped: Grouped = {}
    if total:
        whole = _Group()
        for group in combinations.values():
            whole.add(group)
        grouped[None] = {TOTAL: whole.totals()}
    for index, name in enumerate(breakdowns):
        parts: dict[Any, _Group] = {}
        for combination, group in combinations.items():
            parts.setdefault(combination[index], _Group()).add(group)
        grouped[name] = {key: part.totals() for key, part in parts.items()}
    return grouped
