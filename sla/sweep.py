"""The SLA sweep: warnings, breaches and reminders (催办), exactly once each.

A pass claims the due tickets (``sla_next_at <= now``, through a partial index) in batches of
``BATCH_SIZE`` with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several sweepers can
run at once and never handle the same ticket twice. Each batch is one transaction with a fixed
number of statements (``sla_events_handle_batch``), so a pass costs what is due, a few
statements per batch rather than per ticket. A ticket whose data cannot be handled is reported
and skipped; if writing a batch fails, it is rolled back and its tickets are handled one by
one, each in its own transaction, so one bad ticket never holds up the others.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from sla import schedule

if TYPE_CHECKING:
    from tickets.services.clocks import CalendarWindow

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class SweepReport:
    handled: Counter[str] = field(default_factory=Counter)
    failed: list[int] = field(default_factory=list)

    def summary(self) -> str:
        if not self.handled and not self.failed:
            return "没有到期的时限事件。"
        parts = [f"{kind} {count}" for kind, count in sorted(self.handled.items())]
        if self.failed:
            parts.append(f"失败 {len(self.failed)}（工单 {', '.join(map(str, self.failed))}）")
        return "，".join(parts)

    def fail(self, ticket_id: int, skip: set[int]) -> None:
        skip.add(ticket_id)
        self.failed.append(ticket_id)


def claim_queryset(now: dt.datetime, skip: set[int]) -> QuerySet:  # type: ignore[type-arg]
    """The due tickets, oldest event first, locked (skipping those another sweeper holds)."""
    from tickets.models import Ticket

    queryset = Ticket.objects.filter(sla_next_at__lte=now).order_by("sla_next_at", "id")
    if skip:
        queryset = queryset.exclude(pk__in=skip)
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def sweep_once(
    *, now: dt.datetime | None = None, limit: int = 10_000, batch_size: int = BATCH_SIZE
) -> SweepReport:
    """One pass: handle every SLA event due at ``now`` (of at most ``limit`` tickets)."""
    from tickets import live
    from tickets.services.clocks import CalendarWindow

    now = now or timezone.now()
    report = SweepReport()
    skip: set[int] = set()
    calendars = CalendarWindow()  # read once per pass, when a reminder first needs it
    claimed = 0
    # Live messages go out once per group per batch, not once per ticket and group.
    with live.batched():
        while claimed < limit:
            count = _sweep_batch(now, min(batch_size, limit - claimed), skip, report, calendars)
            if not count:
                break
            claimed += count
    return report


def _sweep_batch(
    now: dt.datetime, size: int, skip: set[int], report: SweepReport, calendars: CalendarWindow
) -> int:
    """Claim and handle one batch; returns how many tickets it claimed (0: nothing due)."""
    from tickets.services.sla_events import BATCH_READ_FIELDS, sla_events_handle_batch

    ids: list[int] = []
    try:
        with transaction.atomic():
            tickets = list(claim_queryset(now, skip).only(*BATCH_READ_FIELDS)[:size])
            ids = [ticket.pk for ticket in tickets]
            outcome = sla_events_handle_batch(tickets=tickets, now=now, calendars=calendars)
    except Exception:
        if not ids:  # the claim itself failed (the database is away): end the pass
            logger.exception("SLA sweep: claiming due tickets failed")
            return 0
        logger.exception("SLA sweep: a batch of %d failed, handling it ticket by ticket", len(ids))
        _sweep_one_by_one(ids, now, skip, report)
        return len(ids)
    report.handled.update(outcome.handled)
    for ticket_id, error in outcome.failed:
        # Reported (log, and Sentry through its logging integration) and skipped.
        logger.error("SLA sweep: ticket %s failed", ticket_id, exc_info=error)
        report.fail(ticket_id, skip)
    return len(ids)


def _sweep_one_by_one(
    ids: list[int], now: dt.datetime, skip: set[int], report: SweepReport
) -> None:
    """The fallback: each ticket of a failed batch in its own transaction, row by row."""
    from tickets.services.sla_events import MAX_STEPS, sla_due, sla_event_handle

    for ticket_id in ids:
        kinds: list[str] = []
        try:
            with transaction.atomic():
                ticket = claim_queryset(now, set()).filter(pk=ticket_id).first()
                while ticket is not None and len(kinds) < MAX_STEPS:
                    kinds.append(sla_event_handle(ticket=ticket, now=now))
                    if not sla_due(ticket, now):
                        break
        except Exception:
            logger.exception("SLA sweep: ticket %s failed", ticket_id)
            report.fail(ticket_id, skip)
            continue
        report.handled.update(kind for kind in kinds if kind)


def due_count(*, now: dt.datetime) -> int:
    from tickets.models import Ticket

    return Ticket.objects.filter(Q(sla_next_at__lte=now)).count()


__all__ = ["BATCH_SIZE", "SweepReport", "due_count", "schedule", "sweep_once"]
