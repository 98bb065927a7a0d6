"""Reading the working calendar and SLA policies from the database for the pure clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from sla import clock
from sla.models import CalendarYear, SlaPolicy, WorkingDay

# Generous: the longest limit (15 working days + 10 of extension) across the longest holiday.
CALENDAR_WINDOW_DAYS = 400
DEFAULT_POLICY = clock.Policy(unit=clock.WORKING_DAYS, amount=10, counting=clock.NEXT_DAY)
DEFAULT_REDO_POLICY = clock.Policy(unit=clock.WORKING_DAYS, amount=5, counting=clock.NEXT_DAY)


def calendar_load(*, start: dt.date, days: int = CALENDAR_WINDOW_DAYS) -> clock.WorkCalendar:
    """The calendar from ``start`` on: the exceptions in the window and the covered years."""
    end = start + dt.timedelta(days=days)
    overrides = WorkingDay.objects.filter(date__gte=start, date__lte=end).values_list(
        "date", "is_workday"
    )
    years = CalendarYear.objects.values_list("year", flat=True)
    return clock.calendar_from_rows(overrides, years)


def calendar_uncovered_days(*, today: dt.date, horizon_days: int | None = None) -> list[dt.date]:
    """First days of each uncovered year within the horizon (empty when all is covered)."""
    horizon = horizon_days or settings.MINSHENG["CALENDAR_HORIZON_DAYS"]
    covered = set(CalendarYear.objects.values_list("year", flat=True))
    last = today + dt.timedelta(days=horizon)
    missing = []
    for year in range(today.year, last.year + 1):
        if year not in covered:
            missing.append(max(dt.date(year, 1, 1), today))
    return missing


@dataclass(frozen=True)
class Deadlines:
    ack_due_at: dt.datetime
    resolve_due_at: dt.datetime
    resolve_unit: str
    calendar_confirmed: bool
    policy: clock.Policy = DEFAULT_POLICY


def policy_select(
    *, request_type: str, urgency: str, category_id: int | None, kind: str = "resolution"
) -> clock.Policy:
    """The most specific active policy: urgency match, then category, then request type."""
    candidates = SlaPolicy.objects.filter(
        Q(request_type="") | Q(request_type=request_type),
        Q(urgency="") | Q(urgency=urgency),
        Q(category__isnull=True) | Q(category_id=category_id),
        kind=kind,
        active=True,
    )
    best: SlaPolicy | None = None
    best_score = (-1, -1, -1)
    for candidate in candidates:
        score = (
            int(candidate.urgency != ""),
            int(candidate.category_id is not None),
            int(candidate.request_type != ""),
        )
        if score > best_score:
            best, best_score = candidate, score
    if best is None:
        return DEFAULT_REDO_POLICY if kind == SlaPolicy.Kind.REDO else DEFAULT_POLICY
    return best.as_policy()


def deadlines_compute(
    *,
    received_at: dt.datetime,
    request_type: str,
    urgency: str,
    category_id: int | None,
) -> Deadlines:
    policy = policy_select(request_type=request_type, urgency=urgency, category_id=category_id)
    calendar = calendar_load(start=clock.local_date(received_at))
    due = clock.resolve_due(received_at, policy, calendar)
    return Deadlines(
        ack_due_at=clock.ack_due(received_at, settings.MINSHENG["ACK_MINUTES"]),
        resolve_due_at=due.at,
        resolve_unit=policy.unit,
        calendar_confirmed=due.confirmed,
        policy=policy,
    )


def redo_deadline(*, reopened_at: dt.datetime, category_id: int | None) -> clock.Deadline:
    return redo_deadline_and_policy(reopened_at=reopened_at, category_id=category_id)[0]


def redo_deadline_and_policy(
    *, reopened_at: dt.datetime, category_id: int | None
) -> tuple[clock.Deadline, clock.Policy]:
    """重办: 5 working days from the reopen by default (a category's redo policy wins)."""
    policy = policy_select(request_type="", urgency="", category_id=category_id, kind="redo")
    calendar = calendar_load(start=clock.local_date(reopened_at))
    return clock.resolve_due(reopened_at, policy, calendar), policy


def deadline_shift(*, deadline: dt.datetime, days: int) -> clock.Deadline:
    calendar = calendar_load(start=clock.local_date(deadline))
    return clock.shift_deadline(deadline, days, calendar)


def pause_apply(
    *, deadline: dt.datetime, paused_at: dt.datetime, resumed_at: dt.datetime
) -> tuple[clock.Deadline, int]:
    calendar = calendar_load(start=clock.local_date(min(paused_at, deadline)))
    return clock.pause_shift(deadline, paused_at, resumed_at, calendar)


def calendar_replace_years(*, entries: list[Any], source: str) -> list[int]:
    """Replace the exceptions of every year in ``entries`` with them and mark those years as
    covered. Entries that match the plain rule are dropped (the table holds exceptions only).
    Returns the years written."""
    years = sorted({entry.date.year for entry in entries})
    with transaction.atomic():
        for year in years:
            WorkingDay.objects.filter(date__year=year).delete()
            WorkingDay.objects.bulk_create(
                [
                    WorkingDay(date=e.date, is_workday=e.is_workday, name=e.name, source=source)
                    for e in entries
                    if e.date.year == year and e.is_workday != (e.date.weekday() < 5)
                ]
            )
            CalendarYear.objects.update_or_create(year=year, defaults={"source": source[:64]})
    return years
