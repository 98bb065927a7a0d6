"""The inbound journal: store first, then parse, then hand to intake.

A channel view calls ``inbound_receive`` with the raw body and a parser. The raw message is
committed before parsing, so nothing that arrived is ever lost; a retry of the same dedupe key
gets the stored answer and creates nothing; a message that cannot be parsed or processed stays
in the journal as ``rejected`` or ``failed`` with the reason and can be processed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DataError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import InboundMessage
from integrations.registry import channel_spec_or_none
from integrations.wire import storable, storable_value, text_problem
from tickets.errors import TicketError
from tickets.models import Ticket
from tickets.services.intake import IncomingMessage, IntakeResult, intake_message

logger = logging.getLogger(__name__)


class ParseRejected(Exception):
    """The message is well-formed enough to keep but cannot become a case (reason shown)."""


class Ignore(Exception):
    """The message needs no ticket (an event, an unknown type); ``response`` is the answer."""

    def __init__(self, reason: str, response: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.response = response or {}


class NotProcessed(Exception):
    """The message is in the journal (``accepted``) but the database went away before it was
    taken in: the recovery pass (``integrations.recovery``) takes it in later."""

    def __init__(self, inbound: InboundMessage) -> None:
        super().__init__(f"inbound {inbound.channel}:{inbound.pk} stored, not processed")
        self.inbound = inbound


Parser = Callable[[bytes], IncomingMessage]
# A database outage, as opposed to a message the database refuses (DataError, IntegrityError).
OUTAGE = (OperationalError, InterfaceError)
# What each field of a parsed message is called when it is refused.
FIELD_NAMES = {
    "text": "内容",
    "title": "标题",
    "sender_id": "发送者",
    "sender_name": "姓名",
    "phone": "电话",
    "email": "邮箱",
    "address": "地址",
    "category_code": "分类代码",
    "department_code": "单位代码",
    "external_ref": "外部编号",
    "attachments": "附件",
}


@dataclass
class Outcome:
    inbound: InboundMessage
    repeated: bool
    response: dict[str, Any]


class Replayed(Exception):
    """The push's signed one-time parameters were used before, by another message (a captured
    signed query carrying another body): refused before anything is stored."""

    def __init__(self, first: InboundMessage) -> None:
        super().__init__(f"replay of inbound {first.channel}:{first.pk}")
        self.first = first


def journal_store(
    *,
    channel: str,
    dedupe_key: str,
    raw_body: bytes,
    account: str = "",
    content_type: str = "",
    headers: dict[str, str] | None = None,
    attempts: int = 0,
    status: str = InboundMessage.Status.ACCEPTED,
    reason: str = "",
    replay_key: str | None = None,
    once: bool = False,
    received_at: dt.datetime | None = None,
) -> tuple[InboundMessage, bool]:
    """Commit the raw message; on a repeat of the key return the first row and False.

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL and SQLite alike), so a
    repeat costs no failed insert and needs no savepoint. ``attempts=1`` stores a row whose
    processing starts right away (``journal_process(counted=True)``); ``status``/``reason``
    are written only on a new row.

    ``replay_key`` (a signed push's one-time parameters) is unique per channel: the same key
    under another dedupe key is a replay, refused with ``Replayed`` and stored nowhere; under
    the same dedupe key it is the platform's retry of the same request — refused too when
    ``once`` (12345: a nonce is never accepted twice). ``received_at``: when it reached us, if
    that was earlier than now (a push replayed from the spool)."""
    # Keys, headers and reasons quote what a stranger sent: never the part that cannot be stored.
    dedupe_key = storable(dedupe_key)[:200]
    row = InboundMessage(
        channel=channel,
        account=storable(account)[:64],
        dedupe_key=dedupe_key,
        replay_key=storable(replay_key)[:200] if replay_key else None,
        raw_body=raw_body,
        content_type=storable(content_type)[:100],
        headers=storable_value(headers or {}),
        received_at=received_at or timezone.now(),
        attempts=attempts,
        status=status,
        reason=storable(reason)[:2000],
    )
    pk = _insert_unless_present(row)
    if pk is None:
        first = InboundMessage.objects.filter(channel=channel, dedupe_key=dedupe_key).first()
        if first is None:  # the dedupe key is free: the one-time parameters were not
            raise Replayed(InboundMessage.objects.get(channel=channel, replay_key=row.replay_key))
        if once and row.replay_key is not None and first.replay_key == row.replay_key:
            raise Replayed(first)
        if bytes(first.raw_body) != raw_body:
            _keep_variant(row, first)
        return first, False
    row.pk = pk
    row._state.adding = False
    row._state.db = connection.alias
    return row, True


def _keep_variant(row: InboundMessage, first: InboundMessage) -> None:
    """Another body under a dedupe key already taken (the same MsgId or order version with
    other content: a platform's re-encrypted retry, a changed push, or a forgery) is kept
    beside the first as ``ignored``: it gets the first one's answer and makes nothing, and
    nothing that arrived is lost."""
    digest = hashlib.sha256(bytes(row.raw_body)).hexdigest()[:32]
    row.dedupe_key = f"{row.dedupe_key[:160]}:variant:{digest}"
    row.replay_key = None
    row.status = InboundMessage.Status.IGNORED
    row.reason = f"与第 {first.pk} 条收件的去重键相同而内容不同：按同一消息处理，只记录不处理。"
    row.response = first.response
    row.processed_at = row.received_at
    _insert_unless_present(row)


def _insert_unless_present(row: InboundMessage) -> int | None:
    """Insert the row unless its (channel, dedupe_key) or (channel, replay_key) is taken; its
    id, or None. (``ON CONFLICT DO NOTHING`` without a target covers both unique indexes.)"""
    meta = InboundMessage._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        "ON CONFLICT DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        found = cursor.fetchone()
    return int(found[0]) if found else None


def _result_response(result: IntakeResult) -> dict[str, Any]:
    return {
        "action": result.action,
        "reply": result.reply,
        "case_no": result.ticket.case_no if result.ticket else "",
        "lookup_url": result.lookup_url,
        **result.extra,
    }


class _Answered(Exception):
    """Another try of the same message recorded its answer first: roll ours back."""


def journal_process(
    *, inbound: InboundMessage, parse: Parser, counted: bool = False
) -> dict[str, Any]:
    """Parse and take in one journaled message; record the outcome on the row.

    Parsing runs outside any transaction. Intake and the outcome then commit together, and the
    outcome is recorded only on a row that has no answer yet: a retry that raced the first try
    (WeChat retries after 5 s) waits on the row lock of the first one's update, finds the
    answer, rolls its own intake back and returns that answer, so one message never makes two
    tickets. ``counted``: the row's ``attempts`` already counts this try (stored so)."""
    now = timezone.now()
    if not counted:
        InboundMessage.objects.filter(pk=inbound.pk).update(attempts=F("attempts") + 1)
        inbound.attempts += 1
    status: str = InboundMessage.Status.PROCESSED
    reason, parsed = "", None
    ticket: Ticket | None = None
    message: IncomingMessage | None = None
    response: dict[str, Any] = {}
    try:
        candidate = parse(bytes(inbound.raw_body))
        _refuse_unstorable(candidate)
        if candidate.received_at is None:
            # When it reached us, not when it was (re)processed.
            candidate.received_at = inbound.received_at
        parsed, message = _describe(candidate), candidate
    except Ignore as exc:
        status, reason, response = InboundMessage.Status.IGNORED, str(exc), exc.response
    except ParseRejected as exc:
        status, reason = InboundMessage.Status.REJECTED, str(exc)
        response = {"action": "rejected", "reason": reason}
    except OUTAGE:  # a parser that reads the database (Open311's categories, 12345's maps)
        raise NotProcessed(inbound)
    except Exception as exc:  # a bad message must never cost us the message
        status, reason, response = _failed(inbound, exc)
    try:
        with transaction.atomic():
            if message is not None:
                result = intake_message(message=message, inbound=inbound)
                response, ticket = _result_response(result), result.ticket
                if result.action == "ignored":
                    status = InboundMessage.Status.IGNORED
            if not _record(inbound, status, reason, parsed, response, ticket, now):
                raise _Answered()
    except _Answered:
        return _stored_answer(inbound)
    except OUTAGE:
        # The row stays ``accepted`` with no answer: taken in by the recovery pass (or by the
        # channel's retry), never marked failed for what was the database's fault.
        raise NotProcessed(inbound)
    except TicketError as exc:
        status, reason, ticket = InboundMessage.Status.REJECTED, str(exc), None
        response = {"action": "rejected", "reason": reason}
        if not _record(inbound, status, reason, parsed, response, ticket, now):
            return _stored_answer(inbound)
    except DataError as exc:
        # A value the database refuses (too long, out of range) that no parser caught: the
        # message's fault, not ours — rejected with a reason, not failed.
        logger.warning(
            "inbound %s:%s refused by the database: %s", inbound.channel, inbound.pk, exc
        )
        status, ticket = InboundMessage.Status.REJECTED, None
        reason = f"内容超出允许的范围：{exc}"
        response = {"action": "rejected", "reason": "内容超出允许的长度或范围，请检查后重新提交。"}
        if not _record(inbound, status, reason, parsed, response, ticket, now):
            return _stored_answer(inbound)
    except Exception as exc:
        (status, reason, response), ticket = _failed(inbound, exc), None
        if not _record(inbound, status, reason, parsed, response, ticket, now):
            return _stored_answer(inbound)
    return response


def _record(
    inbound: InboundMessage,
    status: str,
    reason: str,
    parsed: dict[str, Any] | None,
    response: dict[str, Any],
    ticket: Ticket | None,
    at: dt.datetime,
) -> bool:
    """Store the outcome on the row unless it has an answer already; False if it had."""
    fields = {
        "status": status,
        "reason": storable(reason)[:2000],
        "parsed": storable_value(parsed),
        "response": storable_value(response),
        "ticket": ticket,
        "processed_at": at,
    }
    stored = InboundMessage.objects.filter(pk=inbound.pk, response__isnull=True).update(**fields)
    if stored:
        for name, value in fields.items():
            setattr(inbound, name, value)
    return bool(stored)


def _stored_answer(inbound: InboundMessage) -> dict[str, Any]:
    inbound.refresh_from_db()
    return inbound.response or {}


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
    replay_key: str | None = None,
    once: bool = False,
    received_at: dt.datetime | None = None,
) -> Outcome:
    """Journal, then process once. A repeat returns the first answer.

    Raises the database's own error when the message could not be stored (the caller keeps
    it another way: the spool), ``NotProcessed`` when it was stored but not taken in, and
    ``Replayed`` for a replay of another message's signed parameters."""
    inbound, created = journal_store(
        channel=channel,
        dedupe_key=dedupe_key,
        raw_body=raw_body,
        account=account,
        content_type=content_type,
        headers=headers,
        attempts=1,
        replay_key=replay_key,
        once=once,
        received_at=received_at,
    )
    if not created and inbound.response is not None:
        return Outcome(inbound=inbound, repeated=True, response=inbound.response)
    try:
        response = journal_process(inbound=inbound, parse=parse, counted=created)
    except OUTAGE:
        raise NotProcessed(inbound)
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
    inbound, created = journal_store(
        channel=channel,
        dedupe_key=dedupe_key,
        raw_body=raw_body,
        account=account,
        content_type=content_type,
        status=status,
        reason=reason,
    )
    if not created:
        InboundMessage.objects.filter(pk=inbound.pk).update(
            status=status, reason=storable(reason)[:2000]
        )
        inbound.refresh_from_db()
    return inbound


def _refuse_unstorable(message: IncomingMessage) -> None:
    """Every text of every channel, checked once before it can reach the database."""
    problem = text_problem(
        {name: value for name, value in vars(message).items() if name != "attachments"}
    ) or text_problem([vars(item) for item in message.attachments], "attachments")
    if problem is not None:
        where, why = problem
        name = where.split("[", 1)[0].split(".", 1)[0]
        raise ParseRejected(f"{FIELD_NAMES.get(name, name)}（{where}）{why}")


def journal_reprocess(inbound: InboundMessage) -> None:
    """Take one journaled message in again through its channel (its
    ``ChannelSpec.reprocess``). An unanswered row is simply processed; a ``failed`` one (an
    administrator's retry) is reopened first."""
    spec = channel_spec_or_none(inbound.channel)
    reprocess = spec.reprocess if spec is not None else None
    if reprocess is None:
        raise LookupError(f"渠道 {inbound.channel} 没有重新处理的方法")
    if inbound.response is not None:
        if inbound.status != InboundMessage.Status.FAILED:
            return
        InboundMessage.objects.filter(pk=inbound.pk).update(
            status=InboundMessage.Status.ACCEPTED, response=None
        )
        inbound.status, inbound.response = InboundMessage.Status.ACCEPTED, None
    reprocess(inbound)


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
