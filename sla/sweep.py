"""The SLA sweep: warnings, breaches and reminders (催办), exactly once each.

A pass claims one due ticket at a time (``sla_next_at <= now``, through a partial index) with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several sweepers can run at once and
never handle the same ticket twice; each ticket is handled in its own transaction, so one bad
ticket is reported and skipped without stopping the pass.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from sla import schedule

logger = logging.getLogger(__name__)


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


def _claim(now: dt.datetime, skip: set[int]):  # type: ignore[no-untyped-def]
    from tickets.models import Ticket

    queryset = Ticket.objects.filter(sla_next_at__lte=now).exclude(pk__in=skip)
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.order_by("sla_next_at", "id").first()


def sweep_once(*, now: dt.datetime | None = None, limit: int = 10_000) -> SweepReport:
    """One pass: handle every SLA event due at ``now`` (at most ``limit`` of them)."""
    from tickets import live
    from tickets.services.sla_events import sla_event_handle

    now = now or timezone.now()
    report = SweepReport()
    skip: set[int] = set()
    with live.batched():  # one trip to the channel layer per hundred tickets, not per ticket
        _sweep(now, limit, skip, report, sla_event_handle)
    return report


def _sweep(now: dt.datetime, limit: int, skip: set[int], report: SweepReport, handle: Any) -> None:
    for _ in range(limit):
        ticket_id = None
        try:
            with transaction.atomic():
                ticket = _claim(now, skip)
                if ticket is None:
                    break
                ticket_id = ticket.pk
                kind = handle(ticket=ticket, now=now)
            if kind:
                report.handled[kind] += 1
        except Exception:
            # Reported (log, and Sentry through its logging integration) and skipped.
            logger.exception("SLA sweep: ticket %s failed", ticket_id)
            if ticket_id is None:
                break
            skip.add(ticket_id)
            report.failed.append(ticket_id)


def due_count(*, now: dt.datetime) -> int:
    from tickets.models import Ticket

    return Ticket.objects.filter(Q(sla_next_at__lte=now)).count()


__all__ = ["SweepReport", "due_count", "schedule", "sweep_once"]
