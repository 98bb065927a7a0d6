"""Due-date arithmetic: pure functions, no database (see ``specs/sla.md``).

Every day boundary is in Asia/Shanghai whatever the server's time zone. A ``WorkCalendar``
holds the dates that differ from the plain rule (Mon-Fri work, Sat-Sun rest) and the years the
official schedule covers; a deadline that had to count across an uncovered date is returned with
``confirmed=False``. In a year the schedule does not cover yet, the holidays fixed by law to a
date (元旦 1 Jan, 劳动节 1 May, 国庆 1-3 Oct) are still days of rest: only the moving feasts
and the make-up working days (调休) wait for the State Council's schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
END_OF_DAY = dt.time(23, 59, 59)

NEXT_DAY = "next_day"
SAME_DAY = "same_day"
WORKING_DAYS = "working_days"
HOURS = "hours"

# (month, day) of the public holidays whose date never moves (全国年节及纪念日放假办法): known
# for any year before its official schedule is published.
FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)})


def fixed_holiday(day: dt.date) -> bool:
    return (day.month, day.day) in FIXED_HOLIDAYS


@dataclass(frozen=True)
class WorkCalendar:
    """Exceptions to the plain rule plus the years the official schedule covers.

    A date listed in ``overrides`` is what the table says; in a covered year every other date
    follows the plain rule; in an uncovered year the fixed-date holidays are rest days too."""

    overrides: Mapping[dt.date, bool] = field(default_factory=dict)
    covered_years: frozenset[int] = frozenset()

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if not self.covers(day) and fixed_holiday(day):
            return False
        return day.weekday() < 5

    def covers(self, day: dt.date) -> bool:
        return day.year in self.covered_years


@dataclass(frozen=True)
class Policy:
    """How long a ticket may take: ``amount`` working days or hours."""

    unit: str = WORKING_DAYS
    amount: int = 10
    counting: str = NEXT_DAY


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    confirmed: bool


def aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` itself; a naive datetime is refused (``astimezone`` would silently read it
    in the server's local zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: every datetime must carry its time zone")
    return moment


def local_date(moment: dt.datetime) -> dt.date:
    return aware(moment).astimezone(CHINA).date()


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=CHINA)


def ack_due(received_at: dt.datetime, minutes: int = 30) -> dt.datetime:
    """Acknowledgement is wall clock, 24x7."""
    return (aware(received_at) + dt.timedelta(minutes=minutes)).astimezone(CHINA)


def nth_working_day_after(
    calendar: WorkCalendar, start: dt.date, n: int, *, include_start: bool = False
) -> tuple[dt.date, bool]:
    """The n-th working day strictly after ``start`` (or counting ``start`` itself when
    ``include_start`` and it is a working day). Returns the day and whether every date looked at
    was covered by the official calendar."""
    if n < 1:
        raise ValueError("n must be at least 1")
    confirmed = True
    day = start
    count = 0
    if include_start:
        confirmed = calendar.covers(start)
        if calendar.is_workday(start):
            count = 1
            if count == n:
                return start, confirmed
    while count < n:
        day += dt.timedelta(days=1)
        confirmed = confirmed and calendar.covers(day)
        if calendar.is_workday(day):
            count += 1
    return day, confirmed


def resolve_due(received_at: dt.datetime, policy: Policy, calendar: WorkCalendar) -> Deadline:
    """The resolution deadline for a ticket received at ``received_at``."""
    if policy.unit == HOURS:
        moment = aware(received_at) + dt.timedelta(hours=policy.amount)
        return Deadline(moment.astimezone(CHINA), True)
    day, confirmed = nth_working_day_after(
        calendar,
        local_date(received_at),
        policy.amount,
        include_start=policy.counting == SAME_DAY,
    )
    return Deadline(end_of_day(day), confirmed)


def working_days_between(calendar: WorkCalendar, after: dt.date, through: dt.date) -> int:
    """Count working days d with ``after`` < d <= ``through`` (the pause rule)."""
    count = 0
    day = after + dt.timedelta(days=1)
    while day <= through:
        if calendar.is_workday(day):
            count += 1
        day += dt.timedelta(days=1)
    return count


def shift_deadline(deadline: dt.datetime, days: int, calendar: WorkCalendar) -> Deadline:
    """Move a deadline ``days`` working days later (pause, extension).

    A working-day deadline stays at 23:59:59 of its new day; an hour deadline (urgent tickets)
    keeps its time of day and moves to the n-th working day after its date."""
    local = aware(deadline).astimezone(CHINA)
    if days <= 0:
        return Deadline(deadline, True)
    day, confirmed = nth_working_day_after(calendar, local.date(), days)
    return Deadline(dt.datetime.combine(day, local.timetz()), confirmed)


def pause_shift(
    deadline: dt.datetime,
    paused_at: dt.datetime,
    resumed_at: dt.datetime,
    calendar: WorkCalendar,
) -> tuple[Deadline, int]:
    """Apply a pause: the deadline moves by the working days lost during it. Days lost that
    were counted by the plain rule (outside the calendar) leave the deadline unconfirmed."""
    paused, resumed = local_date(paused_at), local_date(resumed_at)
    lost = working_days_between(calendar, paused, resumed)
    first = paused + dt.timedelta(days=1)
    counted_confirmed = all(
        calendar.covers(dt.date(year, 1, 1)) for year in range(first.year, resumed.year + 1)
    )
    moved = shift_deadline(deadline, lost, calendar)
    return Deadline(moved.at, moved.confirmed and counted_confirmed), lost


def resolution_warning_at(received_at: dt.datetime, due_at: dt.datetime, unit: str) -> dt.datetime:
    """Working-day limits warn at 00:00 on the due date; hour limits at 80% of the time."""
    if unit == HOURS:
        return aware(received_at) + (aware(due_at) - received_at) * 0.8
    local_due = aware(due_at).astimezone(CHINA)
    return dt.datetime.combine(local_due.date(), dt.time(0, 0), tzinfo=CHINA)


def ack_warning_at(received_at: dt.datetime, minutes: int = 20) -> dt.datetime:
    return aware(received_at) + dt.timedelta(minutes=minutes)


def calendar_from_rows(
    overrides: Iterable[tuple[dt.date, bool]], covered_years: Iterable[int]
) -> WorkCalendar:
    return WorkCalendar(dict(overrides), frozenset(covered_years))
