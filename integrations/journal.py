"""The inbound journal: store first, then parse, then hand to intake.

A channel view calls ``inbound_receive`` with the raw body and a parser. The raw message is
committed before parsing, so nothing that arrived is ever lost; a retry of the same dedupe key
gets the stored answer and creates nothing; a message that cannot be parsed or processed stays
in the journal as ``rejected`` or ``failed`` with the reason and can be processed again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import InboundMessage
from tickets.errors import TicketError
from tickets.services.intake import IncomingMessage, IntakeResult, intake_message

logger = logging.getLogger(__name__)


class ParseRejected(Exception):
    """The message is well-formed enough to keep but cannot become a case (reason shown)."""


class Ignore(Exception):
    """The message needs no ticket (an event, an unknown type); ``response`` is the answer."""

    def __init__(self, reason: str, response: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.response = response or {}


Parser = Callable[[bytes], IncomingMessage]


@dataclass
class Outcome:
    inbound: InboundMessage
    repeated: bool
    response: dict[str, Any]


def journal_store(
    *,
    channel: str,
    dedupe_key: str,
    raw_body: bytes,
    account: str = "",
    content_type: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[InboundMessage, bool]:
    """Commit the raw message; on a repeat of the key return the first row and False."""
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(
                channel=channel,
                account=account,
                dedupe_key=dedupe_key[:200],
                raw_body=raw_body,
                content_type=content_type[:100],
                headers=headers or {},
                received_at=timezone.now(),
            )
        return row, True
    except IntegrityError:
        return InboundMessage.objects.get(channel=channel, dedupe_key=dedupe_key[:200]), False


def _result_response(result: IntakeResult) -> dict[str, Any]:
    return {
        "action": result.action,
        "reply": result.reply,
        "case_no": result.ticket.case_no if result.ticket else "",
        "lookup_url": result.lookup_url,
        **result.extra,
    }


def journal_process(*, inbound: InboundMessage, parse: Parser) -> dict[str, Any]:
    """Parse and take in one journaled message; record the outcome on the row.

    Parsing runs outside any transaction. Intake then runs with the journal row locked and
    checks it has no answer yet: a retry arriving while the first try is being processed
    waits on that lock and gets the first answer instead of a second ticket."""
    now = timezone.now()
    InboundMessage.objects.filter(pk=inbound.pk).update(attempts=F("attempts") + 1)
    status: str = InboundMessage.Status.PROCESSED
    reason, ticket_id, parsed = "", None, None
    message: IncomingMessage | None = None
    try:
        message = parse(bytes(inbound.raw_body))
        if message.received_at is None:
            # When it reached us, not when it was (re)processed.
            message.received_at = inbound.received_at
        parsed = _describe(message)
    except Ignore as exc:
        status, reason, response = InboundMessage.Status.IGNORED, str(exc), exc.response
    except ParseRejected as exc:
        status, reason = InboundMessage.Status.REJECTED, str(exc)
        response = {"action": "rejected", "reason": reason}
    except Exception as exc:  # a bad message must never cost us the message
        status, reason, response = _failed(inbound, exc)
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if locked.response is not None:
            inbound.refresh_from_db()
            return locked.response  # type: ignore[no-any-return]
        if message is not None:
            try:
                with transaction.atomic():
                    result = intake_message(message=message, inbound=locked)
                response = _result_response(result)
                ticket_id = result.ticket.pk if result.ticket else None
                if result.action == "ignored":
                    status = InboundMessage.Status.IGNORED
            except TicketError as exc:
                status, reason = InboundMessage.Status.REJECTED, str(exc)
                response = {"action": "rejected", "reason": reason}
            except Exception as exc:
                status, reason, response = _failed(inbound, exc)
        InboundMessage.objects.filter(pk=inbound.pk).update(
            status=status,
            reason=reason[:2000],
            parsed=parsed,
            response=response,
            ticket_id=ticket_id,
            processed_at=now,
        )
    inbound.refresh_from_db()
    return response


def _failed(inbound: InboundMessage, exc: Exception) -> tuple[str, str, dict[str, Any]]:
    logger.exception("inbound %s:%s failed", inbound.channel, inbound.pk)
    reason = f"{type(exc).__name__}: {exc}"
    return (
        InboundMessage.Status.FAILED,
        reason,
        {"action": "failed", "reason": "处理失败，已记录，将由管理员重新处理。"},
    )


def inbound_receive(
    *,
    channel: str,
    dedupe_key: str,
    raw_body: bytes,
    parse: Parser,
    account: str = "",
    content_type: str = "",
    headers: dict[str, str] | None = None,
) -> Outcome:
    """Journal, then process once. A repeat returns the first answer."""
    inbound, created = journal_store(
        channel=channel,
        dedupe_key=dedupe_key,
        raw_body=raw_body,
        account=account,
        content_type=content_type,
        headers=headers,
    )
    if not created and inbound.response is not None:
        return Outcome(inbound=inbound, repeated=True, response=inbound.response)
    response = journal_process(inbound=inbound, parse=parse)
    return Outcome(inbound=inbound, repeated=not created, response=response)


def inbound_reject(
    *,
    channel: str,
    dedupe_key: str,
    raw_body: bytes,
    reason: str,
    account: str = "",
    content_type: str = "",
    status: str = InboundMessage.Status.REJECTED,
) -> InboundMessage:
    """Keep a message that was refused before parsing (bad signature excepted)."""
    inbound, _created = journal_store(
        channel=channel,
        dedupe_key=dedupe_key,
        raw_body=raw_body,
        account=account,
        content_type=content_type,
    )
    InboundMessage.objects.filter(pk=inbound.pk).update(status=status, reason=reason[:2000])
    inbound.refresh_from_db()
    return inbound


def _describe(message: IncomingMessage) -> dict[str, Any]:
    """What the parser understood, for the journal (JSON-safe)."""
    out: dict[str, Any] = {}
    for key, value in vars(message).items():
        if isinstance(value, dt.datetime):
            out[key] = value.isoformat()
        elif isinstance(value, list):
            out[key] = [vars(item) for item in value]
        elif value is None or isinstance(value, (str, int, bool, float)):
            out[key] = value
        else:
            out[key] = str(value)
    return out
