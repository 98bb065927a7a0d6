"""What the sweep must do next for one ticket (pure: no database).

Each ticket carries ``sla_next_at`` / ``sla_next_kind``: the moment and kind of its next SLA
event (warning, breach or reminder) in the current cycle, or nothing when no clock runs. The
sweep reads only tickets whose ``sla_next_at`` has come (a partial index), so a pass costs what
is due, not what is open. Every write that changes a clock recomputes these two fields with
``next_sla_event``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sla import clock

ACK_WARNING = "ack_warning"
ACK_BREACH = "ack_breach"
RESOLVE_WARNING = "resolve_warning"
RESOLVE_BREACH = "resolve_breach"
REMINDER = "reminder"

REMINDER_TIME = dt.time(9, 0)
ACK_STATES = frozenset({"new"})
RESOLUTION_STATES = frozenset({"acknowledged", "assigned", "in_progress"})


@dataclass(frozen=True)
class ClockState:
    """The SLA-relevant facts of a ticket, as the sweep sees them."""

    state: str
    received_at: dt.datetime
    ack_due_at: dt.datetime
    resolve_due_at: dt.datetime
    resolve_unit: str
    cycle_started_at: dt.datetime
    ack_warned: bool = False
    ack_breached: bool = False
    resolve_warned: bool = False
    resolve_breached: bool = False
    last_reminder_at: dt.datetime | None = None


@dataclass(frozen=True)
class NextEvent:
    kind: str
    at: dt.datetime


def next_reminder_at(after: dt.datetime, calendar: clock.WorkCalendar) -> dt.datetime:
    """09:00 on the first working day strictly after ``after``'s date."""
    day, _confirmed = clock.nth_working_day_after(calendar, clock.local_date(after), 1)
    return dt.datetime.combine(day, REMINDER_TIME, tzinfo=clock.CHINA)


def next_sla_event(
    facts: ClockState, calendar: clock.WorkCalendar, *, ack_warning_minutes: int = 20
) -> NextEvent | None:
    """The next warning, breach or reminder due for this ticket, or None."""
    if facts.state in ACK_STATES:
        if not facts.ack_warned:
            return NextEvent(
                ACK_WARNING, clock.ack_warning_at(facts.received_at, ack_warning_minutes)
            )
        if not facts.ack_breached:
            return NextEvent(ACK_BREACH, facts.ack_due_at)
        return NextEvent(
            REMINDER, next_reminder_at(facts.last_reminder_at or facts.ack_due_at, calendar)
        )
    if facts.state in RESOLUTION_STATES:
        if not facts.resolve_warned:
            start = max(facts.received_at, facts.cycle_started_at)
            warning = clock.resolution_warning_at(start, facts.resolve_due_at, facts.resolve_unit)
            return NextEvent(RESOLVE_WARNING, warning)
        if not facts.resolve_breached:
            return NextEvent(RESOLVE_BREACH, facts.resolve_due_at)
        return NextEvent(
            REMINDER, next_reminder_at(facts.last_reminder_at or facts.resolve_due_at, calendar)
        )
    return None
