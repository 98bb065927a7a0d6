"""The outbox worker: sends what the write path queued, with retries and backoff.

A pass claims one due row at a time in a short transaction (``SELECT ... FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several workers never take the same row) and leases it by moving
``next_attempt_at`` a few minutes ahead; the transaction commits *before* anything is sent, so
no database lock is held while we talk to the outside. The outcome is then recorded on the row.
A worker that dies mid-send leaves the row to be retried when the lease runs out.

Kinds:

- ``citizen_notice``: the ticket's channel's ways (``ChannelSpec.senders``) in
  order, then SMS when the citizen has a phone number; a permanent ``DeliveryError`` moves on
  to the next way, a transient one retries the row later (30 s, doubling, at most 1 h; failed
  after ``MAX_ATTEMPTS``). With no way left the notice is undeliverable, and the ticket's
  timeline says so, for the handler to see.
- a channel's own kinds: its ``ChannelSpec.outbox_handlers`` (one row at a time, as any
  other kind) or ``outbox_loops`` (the channel sends its kind's due rows itself, first in each
  pass: the 12345 callbacks, which keep each ticket's callbacks in order).
- other kinds: handlers registered with ``register_outbox_handler``; unknown kinds wait. A
  kind registered with ``own_pass=True`` (media downloads, which may take a minute each) is
  left out of the ordinary pass and sent by ``outbox_process(kinds=...)`` in a job of its
  own, so a slow download never holds up a notice or a callback.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.models import OutboxMessage
from integrations.outbound import sms
from integrations.outbound.base import DeliveryError, Notice, notice_senders
from integrations.registry import outbox_handler, outbox_loops
from tickets.models import CitizenIdentity, Ticket
from tickets.services.citizen import ticket_notice_undeliverable

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_FIRST = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=5)
NOT_READY_DELAY = dt.timedelta(minutes=1)
NOTICE_KIND = "citizen_notice"


@dataclass
class Result:
    """What happened to one row: sent | retry | failed | undeliverable | wait."""

    status: str
    via: str = ""
    error: str = ""


Handler = Callable[[OutboxMessage], Result]
_HANDLERS: dict[str, Handler] = {}
_OWN_PASS: set[str] = set()


def register_outbox_handler(kind: str, handler: Handler, *, own_pass: bool = False) -> None:
    """Let another package send its own kind of outbox row (``own_pass``: only in a pass of
    its own, ``outbox_process(kinds={kind})``)."""
    _HANDLERS[kind] = handler
    if own_pass:
        _OWN_PASS.add(kind)


@dataclass
class OutboxReport:
    handled: Counter[str] = field(default_factory=Counter)
    failed: list[int] = field(default_factory=list)

    def summary(self) -> str:
        if not self.handled and not self.failed:
            return "没有待发送的消息。"
        parts = [f"{kind} {count}" for kind, count in sorted(self.handled.items())]
        if self.failed:
            parts.append(f"出错 {len(self.failed)}（消息 {', '.join(map(str, self.failed))}）")
        return "，".join(parts)


def backoff(attempts: int) -> dt.timedelta:
    """The wait before the next try after ``attempts`` tries: 30 s, 60 s, 120 s, ... ≤ 1 h."""
    delay = BACKOFF_FIRST * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_MAX)


# --- citizen notices ---------------------------------------------------------------------


def _identity(ticket: Ticket, row: OutboxMessage) -> CitizenIdentity | None:
    kind = str(row.payload.get("identity_kind", ""))
    if ticket.citizen_id is None or not kind or not row.recipient:
        return None
    return (
        CitizenIdentity.objects.filter(citizen_id=ticket.citizen_id, kind=kind, value=row.recipient)
        .order_by("-last_seen_at")
        .first()
    )


def send_citizen_notice(row: OutboxMessage) -> Result:
    notice = Notice(**row.payload["notice"])
    ticket = (
        Ticket.objects.select_related("citizen").filter(pk=row.ticket_id).first()
        if row.ticket_id is not None
        else None
    )
    if ticket is None:
        return Result("undeliverable", error="工单已不存在")
    identity = _identity(ticket, row)
    reasons: list[str] = []
    ways = notice_senders(row.channel)
    if ways and row.account_id is None:
        # Every channel way speaks for one of our accounts (a WeChat official account, ...).
        reasons.append(f"{row.channel}: 找不到渠道账号")
        ways = []
    if ways and not row.recipient:
        reasons.append(f"{row.channel}: 不知道市民在该渠道的账号")
        ways = []
    for name, sender in ways:
        try:
            via = sender(row.account, row.recipient, notice, identity)
        except DeliveryError as exc:
            if not exc.permanent:
                return Result("retry", error=f"{name}: {exc}")
            reasons.append(f"{name}: {exc}")
            continue
        return Result("sent", via=str(via or name)[:32])
    phone = ticket.citizen.phone if ticket.citizen is not None else ""
    if not phone and row.payload.get("identity_kind") == CitizenIdentity.Kind.PHONE:
        phone = row.recipient  # known by phone number in the channel itself (website, 12345)
    if not phone:
        reasons.append("没有可用的送达方式（无渠道账号可发、无电话号码）")
        return Result("undeliverable", error="; ".join(reasons))
    try:
        backend, _message_id = sms.sms_send(phone, notice.text)
    except DeliveryError as exc:
        if not exc.permanent:
            return Result("retry", error=f"sms: {exc}")
        reasons.append(f"sms: {exc}")
        return Result("undeliverable", error="; ".join(reasons))
    return Result("sent", via=f"sms:{backend}")


BUILTIN: dict[str, Handler] = {NOTICE_KIND: send_citizen_notice}


# --- the pass ----------------------------------------------------------------------------


def _claim(
    now: dt.datetime, skip: set[int], exclude_kinds: set[str], kinds: Collection[str] | None
) -> OutboxMessage | None:
    queryset = (
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
        .exclude(pk__in=skip)
        .exclude(kind__in=exclude_kinds)
    )
    if kinds is not None:
        queryset = queryset.filter(kind__in=list(kinds))
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.order_by(F("next_attempt_at").asc(nulls_first=True), "id").first()


def _lease(
    now: dt.datetime, skip: set[int], exclude_kinds: set[str], kinds: Collection[str] | None
) -> OutboxMessage | None:
    with transaction.atomic():
        row = _claim(now, skip, exclude_kinds, kinds)
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        row.save(update_fields=["attempts", "next_attempt_at"])
    return row


def _dispatch(row: OutboxMessage) -> Result:
    handler = _HANDLERS.get(row.kind) or BUILTIN.get(row.kind) or outbox_handler(row.kind)
    if handler is None:
        return Result("wait", error=f"未知的消息类型 {row.kind}")
    return handler(row)


def _record(row: OutboxMessage, result: Result, now: dt.datetime) -> str:
    """Write the outcome on the row; returns the status it was counted under."""
    status = result.status
    if status == "retry" and row.attempts >= MAX_ATTEMPTS:
        status = "failed"
    changes: dict[str, Any] = {"last_error": result.error[:2000]}
    if status == "sent":
        changes.update(
            status=OutboxMessage.Status.SENT, via=result.via, sent_at=timezone.now(), last_error=""
        )
        changes["next_attempt_at"] = None
    elif status == "retry":
        changes["next_attempt_at"] = now + backoff(row.attempts)
    elif status == "wait":
        # Not a try: the way to send it does not exist yet.
        changes.update(attempts=max(row.attempts - 1, 0), next_attempt_at=now + NOT_READY_DELAY)
    else:
        changes.update(status=status, next_attempt_at=None)
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(
            pk=row.pk, status=OutboxMessage.Status.PENDING
        ).update(**changes)
        if (
            updated
            and status in ("failed", "undeliverable")
            and row.kind == "citizen_notice"
            and row.ticket_id
        ):
            ticket_notice_undeliverable(
                ticket_id=row.ticket_id,
                notice_kind=str(row.payload.get("notice", {}).get("kind", "")),
                status=status,
                reasons=[part for part in result.error.split("; ") if part],
            )
    return status


def outbox_process(
    now: dt.datetime | None = None,
    limit: int = 500,
    *,
    kinds: Collection[str] | None = None,
    budget_seconds: float | None = None,
) -> OutboxReport:
    """One pass: send every due outbox row (at most ``limit``), each at most once.

    ``kinds``: only rows of these kinds (a pass of their own); otherwise every kind but those
    registered with ``own_pass``. ``budget_seconds``: claim no new row after that long."""
    now = now or timezone.now()
    report = OutboxReport()
    skip: set[int] = set()
    exclude_kinds: set[str] = set() if kinds is not None else set(_OWN_PASS)
    started = time.monotonic()
    for loop_kind, loop in outbox_loops():
        if kinds is not None and loop_kind not in kinds:
            continue
        exclude_kinds.add(loop_kind)
        try:
            tried = loop(now)
            if tried:
                report.handled[loop_kind] += tried
        except Exception:
            logger.exception("outbox: the %s loop failed", loop_kind)
    for _ in range(limit):
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        row_id = None
        try:
            row = _lease(now, skip, exclude_kinds, kinds)
            if row is None:
                break
            row_id = row.pk
            skip.add(row.pk)
            try:
                result = _dispatch(row)
            except Exception as exc:  # a bug in a sender: retry later, keep going
                logger.exception("outbox %s (%s): sending failed", row.pk, row.kind)
                report.failed.append(row.pk)
                result = Result("retry", error=f"{type(exc).__name__}: {exc}")
            status = _record(row, result, now)
            report.handled[status if status != "sent" else f"sent:{result.via}"] += 1
        except Exception:
            logger.exception("outbox: row %s could not be processed", row_id)
            if row_id is None:
                break
            if row_id not in report.failed:
                report.failed.append(row_id)
    return report
