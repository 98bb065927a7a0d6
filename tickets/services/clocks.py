"""Keeping a ticket's SLA cycle and its next SLA event up to date.

Called by every write that changes a clock (intake, transitions, pauses, extensions, reopen,
calendar import), so that ``sla_next_at`` always says when the sweep must look at the ticket.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from sla import clock, schedule
from sla import services as sla
from tickets.models import Ticket


def basis_new(*, start: dt.datetime, policy: clock.Policy) -> dict[str, Any]:
    """What a cycle's deadline is computed from (kept on the ticket as JSON)."""
    return {
        "start": start.isoformat(),
        "unit": policy.unit,
        "amount": policy.amount,
        "counting": policy.counting,
        "extra_days": 0,
    }


def basis_deadline(basis: dict[str, Any], calendar: clock.WorkCalendar) -> clock.Deadline:
    """Recompute a cycle's deadline from its basis: the policy plus the working days added by
    pauses and extensions. For working-day limits, counting n + k working days from the start
    is the same as moving the n-th working day k working days later."""
    start = dt.datetime.fromisoformat(basis["start"])
    extra = int(basis.get("extra_days", 0))
    policy = clock.Policy(unit=basis["unit"], amount=basis["amount"], counting=basis["counting"])
    if policy.unit == clock.HOURS:
        return clock.shift_deadline(clock.resolve_due(start, policy, calendar).at, extra, calendar)
    extended = clock.Policy(
        unit=policy.unit, amount=policy.amount + extra, counting=policy.counting
    )
    return clock.resolve_due(start, extended, calendar)


def cycle_reset(ticket: Ticket) -> None:
    """A reopen or an approved extension starts a new cycle of warnings and breaches."""
    ticket.resolve_warned = False
    ticket.resolve_breached = False
    ticket.last_reminder_at = None


# How far past its start a reminder's calendar must reach: the next working day after any
# holiday (the longest, Spring Festival or National Day, is 8-9 days).
REMINDER_CALENDAR_DAYS = 60


class CalendarWindow:
    """The working calendar for many ``sla_refresh`` calls (the sweep: one per pass, instead of
    one database read per breached ticket). It is read when first needed, over the range that
    ``expect`` announced, and read again, wider, only when asked for a day outside it."""

    def __init__(self) -> None:
        self._wanted: tuple[dt.date, dt.date] | None = None
        self._loaded: tuple[dt.date, dt.date] | None = None
        self._calendar: clock.WorkCalendar | None = None

    def expect(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
        """Widen the range the next read will cover (no database access)."""
        if self._wanted is not None:
            start, end = min(start, self._wanted[0]), max(end, self._wanted[1])
        self._wanted = (start, end)
        return self._wanted

    def covering(self, start: dt.date, end: dt.date) -> clock.WorkCalendar:
        """A calendar holding every exception from ``start`` to ``end``."""
        loaded = self._loaded
        if self._calendar is not None and loaded is not None:
            if loaded[0] <= start and end <= loaded[1]:
                return self._calendar
            self.expect(*loaded)
        low, high = self.expect(start, end)
        self._calendar = sla.calendar_load(start=low, days=(high - low).days)
        self._loaded = (low, high)
        return self._calendar


def reminder_calendar_start(ticket: Ticket) -> dt.date:
    """The first day the calendar must hold for the ticket's next reminder (09:00 on the
    working day after its last reminder, or after its breach)."""
    breached_at = ticket.ack_due_at if ticket.state == "new" else ticket.resolve_due_at
    return clock.local_date(ticket.last_reminder_at or breached_at)


def sla_refresh(ticket: Ticket, *, calendars: CalendarWindow | None = None) -> None:
    """Set ``sla_next_at``/``sla_next_kind`` from the ticket's current clocks (not saved).

    ``calendars`` lets a caller that refreshes many tickets read the calendar once for all."""
    basis_start = ticket.resolve_basis.get("start") if ticket.resolve_basis else None
    facts = schedule.ClockState(
        state=ticket.state,
        received_at=ticket.received_at,
        ack_due_at=ticket.ack_due_at,
        resolve_due_at=ticket.resolve_due_at,
        resolve_unit=ticket.resolve_unit,
        cycle_started_at=dt.datetime.fromisoformat(basis_start)
        if basis_start
        else ticket.received_at,
        ack_warned=ticket.ack_warned,
        ack_breached=ticket.ack_breached,
        resolve_warned=ticket.resolve_warned,
        resolve_breached=ticket.resolve_breached,
        last_reminder_at=ticket.last_reminder_at,
    )
    # Only reminders (after a breach) need the calendar: 09:00 on the next working day.
    calendar = clock.WorkCalendar()
    if ticket.ack_breached or ticket.resolve_breached:
        start = reminder_calendar_start(ticket)
        if calendars is None:
            calendar = sla.calendar_load(start=start, days=REMINDER_CALENDAR_DAYS)
        else:
            calendar = calendars.covering(start, start + dt.timedelta(days=REMINDER_CALENDAR_DAYS))
    upcoming = schedule.next_sla_event(
        facts, calendar, ack_warning_minutes=settings.MINSHENG["ACK_WARNING_MINUTES"]
    )
    ticket.sla_next_at = upcoming.at if upcoming else None
    ticket.sla_next_kind = upcoming.kind if upcoming else ""


def deadlines_recompute_unconfirmed() -> list[tuple[str, str | None, str | None]]:
    """After a calendar import: recompute every open ticket whose deadline was counted across
    uncovered dates. Each change is an event with before and after. Returns
    (case_no, before, after) for the tickets whose deadline moved."""
    from django.db import transaction

    from tickets.models import OPEN_STATES
    from tickets.services.events import event_append, iso

    changed: list[tuple[str, str | None, str | None]] = []
    ids = list(
        Ticket.objects.filter(calendar_confirmed=False, state__in=OPEN_STATES)
        .exclude(resolve_basis={})
        .values_list("pk", flat=True)
    )
    for ticket_id in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            start = dt.datetime.fromisoformat(ticket.resolve_basis["start"])
            calendar = sla.calendar_load(start=clock.local_date(start))
            due = basis_deadline(ticket.resolve_basis, calendar)
            before = ticket.resolve_due_at
            ticket.resolve_due_at = due.at
            ticket.calendar_confirmed = due.confirmed
            sla_refresh(ticket)
            ticket.save()
            event_append(
                ticket=ticket,
                kind="deadline_recomputed",
                label="工作日历",
                from_state=ticket.state,
                payload={
                    "resolve_due_before": iso(before),
                    "resolve_due_after": iso(due.at),
                    "calendar_confirmed": due.confirmed,
                },
            )
            if before != due.at:
                changed.append((ticket.case_no, iso(before), iso(due.at)))
    return changed
