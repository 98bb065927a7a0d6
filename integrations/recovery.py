"""The recovery pass (``inbound-recover`` job, every 30 s; ``manage.py inbound_recover``).

What an outage can leave behind, taken in once the database and the cache are back:

1. pushes spooled to local disk while the database was away (``integrations.spool``);
2. journal rows left ``accepted`` with no answer — stored, then the database went away before
   they were taken in (or the process died): each channel's spec says how to take its rows
   in again (``ChannelSpec.reprocess``); a row still unfinished after ``MAX_ATTEMPTS``
   tries is marked ``failed`` for an administrator;

Taking a row in again is safe whatever else runs: the journal records an answer only on a
row that has none, so a channel's own retry racing this pass still makes one ticket.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.utils import timezone

from integrations import journal, spool
from integrations.models import InboundMessage
from integrations.outbound.notices import notice_received

logger = logging.getLogger(__name__)

# The database went away (again) while a row was being taken in: try later.
DOWN: tuple[type[Exception], ...] = (journal.NotProcessed, *spool.OUTAGE)
STUCK_AFTER = dt.timedelta(seconds=60)  # longer than any request takes to finish its intake
MAX_ATTEMPTS = 10
BATCH = 200


@dataclass
class RecoverResult:
    spool: spool.DrainResult = field(default_factory=spool.DrainResult)
    recovered: int = 0
    gave_up: int = 0

    @property
    def handled(self) -> int:
        return self.spool.replayed + self.recovered

    @property
    def failed(self) -> int:
        return self.spool.failed + self.gave_up

    def summary(self) -> str:
        return (
            f"{self.spool.summary()}; journal: {self.recovered} taken in, {self.gave_up} given up"
        )


def _stuck(now: dt.datetime) -> list[InboundMessage]:
    """Unanswered rows older than ``STUCK_AFTER``, oldest first. Each try of a row counts in
    its ``attempts`` (``journal_process`` counts it); two recoverers taking the same row in
    make one answer (the journal records it only on a row that has none)."""
    return list(
        InboundMessage.objects.filter(
            status=InboundMessage.Status.ACCEPTED,
            response__isnull=True,
            received_at__lt=now - STUCK_AFTER,
        ).order_by("received_at", "id")[:BATCH]
    )


def _take_in(row: InboundMessage) -> str:
    """One stuck row taken in again: "recovered", "gave_up" or "down" (the database went
    away meanwhile)."""
    if row.attempts >= MAX_ATTEMPTS:
        InboundMessage.objects.filter(pk=row.pk, response__isnull=True).update(
            status=InboundMessage.Status.FAILED,
            reason=f"处理 {MAX_ATTEMPTS} 次仍未完成，请管理员检查后重新处理。",
            response={"action": "failed", "reason": "处理失败，已记录，将由管理员重新处理。"},
            processed_at=timezone.now(),
        )
        return "gave_up"
    try:
        journal.journal_reprocess(row)
    except DOWN:
        return "down"
    except Exception as exc:  # e.g. its account was deleted: an administrator decides
        logger.exception("inbound %s:%s could not be taken in again", row.channel, row.pk)
        InboundMessage.objects.filter(pk=row.pk, response__isnull=True).update(
            status=InboundMessage.Status.FAILED,
            reason=f"重新处理失败：{type(exc).__name__}: {exc}"[:2000],
            response={"action": "failed", "reason": "处理失败，已记录，将由管理员重新处理。"},
            processed_at=timezone.now(),
        )
        return "gave_up"
    row.refresh_from_db()
    notice_received(inbound=row)
    return "recovered"


def journal_recover() -> RecoverResult:
    """Drain the spool, then take in stuck journal rows."""
    result = RecoverResult(spool=spool.spool_drain())
    try:
        rows = _stuck(timezone.now())
    except spool.OUTAGE:
        return result
    for row in rows:
        outcome = _take_in(row)
        if outcome == "down":
            break
        if outcome == "gave_up":
            result.gave_up += 1
        else:
            result.recovered += 1
    return result
