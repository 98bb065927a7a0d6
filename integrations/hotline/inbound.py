"""``POST /integrations/hotline/<slug>/orders``: work orders and events from a 12345 platform.

Verify (signature, timestamp window, one-time nonce), check the body, journal it, then hand
it to one service: a new dispatch goes through intake (``inbound_receive``); a re-dispatch,
an urge, a supervision, a recall or a feedback acts on the order's ticket. The journal row is
keyed ``<order_no>:<event>:<version>``, so a repeated push gets the first answer and changes
nothing. Answers: 200 ``{"code": 0, "case_no"}``; 400 ``{"code", "message"}`` naming the field;
401 for authentication; 503 ``{"code": 50300}`` while the database is away (the push is kept —
spooled, or journaled — and the platform's retry gets the real answer).

A nonce is accepted once per account: it is stored on the push's journal row under a unique
index (``replay_key``), so the check needs no cache and holds across restarts and outages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import spool
from integrations.accounts import account_active
from integrations.hotline import orders, signing
from integrations.hotline.parser import (
    CHANNEL,
    HotlineInvalid,
    HotlineOrder,
    dispatch_message,
    full_address,
    order_parse,
)
from integrations.journal import (
    NotProcessed,
    ParseRejected,
    Replayed,
    inbound_receive,
    inbound_reject,
    journal_store,
)
from integrations.models import ChannelAccount, InboundMessage
from integrations.wire import storable, storable_value
from tickets.errors import ConflictError, InvalidInput, TicketError, TicketNotFound
from tickets.models import State, Ticket
from tickets.services.feedback import ticket_feedback
from tickets.services.intake import IncomingAttachment, IncomingMessage
from tickets.services.platform import (
    ticket_redispatch,
    ticket_supervise,
    ticket_urge,
    ticket_withdraw,
)

logger = logging.getLogger(__name__)

OK = 0
UNKNOWN_ACCOUNT = 40400
AUTH_FAILED = 40100
INVALID_FIELD = 40001
UNKNOWN_ORDER = 40401
CONFLICT = 40901
FAILED = 50000
UNAVAILABLE = 50300
FAILED_MESSAGE = "处理失败，已记录，将由管理员重新处理。"
UNAVAILABLE_MESSAGE = "系统暂时无法处理（数据库不可用），推送已保存，请稍后重试。"


@dataclass
class Handled:
    """What handling an event did: the answer, the ticket and the journal status."""

    response: dict[str, Any]
    ticket_id: int | None = None
    status: str = InboundMessage.Status.PROCESSED
    reason: str = ""
    parsed: dict[str, Any] = field(default_factory=dict)


def _json(status: int, body: dict[str, Any]) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _error(status: int, code: int, message: str) -> JsonResponse:
    return _json(status, {"code": code, "message": message})


def _authenticate(request: HttpRequest, account: ChannelAccount, raw: bytes) -> str:
    """'' when the push is authentic and fresh, else why not (for the 401 answer). The nonce's
    one-time use is the journal's own check (``replay_key``), made when the push is stored."""
    timestamp = request.headers.get(signing.TIMESTAMP_HEADER, "")
    nonce = request.headers.get(signing.NONCE_HEADER, "")
    given = request.headers.get(signing.SIGNATURE_HEADER, "")
    if not (timestamp and nonce and given):
        return "缺少签名请求头 X-Hotline-Timestamp / X-Hotline-Nonce / X-Hotline-Signature"
    if len(nonce) > signing.MAX_NONCE_LENGTH:
        return "X-Hotline-Nonce 过长"
    if not signing.signature_valid(account.secret("secret"), timestamp, nonce, raw, given):
        return "签名无效"
    if not signing.timestamp_fresh(timestamp, now=spool.request_time(request)):
        return f"时间戳与当前时间相差超过 {signing.MAX_SKEW_SECONDS} 秒"
    return ""


def _replay_key(request: HttpRequest, account: ChannelAccount) -> str:
    """A nonce is used once per account, whatever its timestamp (only an authentic push gets
    this far, so a forger cannot burn the platform's nonces)."""
    nonce = request.headers.get(signing.NONCE_HEADER, "")
    return f"{account.slug}:nonce:{hashlib.sha256(nonce.encode('utf-8')).hexdigest()[:40]}"


REPLAYED = "该 nonce 已使用过（疑似重放）"


def _headers(request: HttpRequest) -> dict[str, str]:
    names = (signing.TIMESTAMP_HEADER, signing.NONCE_HEADER, signing.SIGNATURE_HEADER)
    return {name: request.headers.get(name, "") for name in names}


@csrf_exempt
@require_POST
def orders_receive(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        account = account_active(kind=CHANNEL, slug=slug)
    except spool.OUTAGE:  # the database is away and this process never saw the account
        return _keep(request, slug, verified=False)
    if account is None:
        return _error(404, UNKNOWN_ACCOUNT, "未知或已停用的 12345 平台账号。")
    try:
        raw = request.body
    except RequestDataTooBig:
        return _error(413, INVALID_FIELD, "body：请求体过大。")
    failure = _authenticate(request, account, raw)
    if failure:
        logger.warning("hotline %s: refused push: %s", slug, failure)
        return _error(401, AUTH_FAILED, failure)
    try:
        order = order_parse(raw)
    except HotlineInvalid as exc:
        # Authentic but unusable: kept as rejected (by content, so a corrected push with the
        # same order_no/event/version is still taken), answered with the field and why.
        try:
            inbound_reject(
                channel=CHANNEL,
                dedupe_key=f"invalid:{slug}:{hashlib.sha256(raw).hexdigest()}",
                raw_body=raw,
                reason=exc.message,
                account=slug,
                content_type=request.content_type or "",
            )
        except spool.OUTAGE:
            return _keep(request, slug, verified=True)
        return _error(400, INVALID_FIELD, exc.message)
    try:
        response = order_receive(
            account=account,
            order=order,
            raw=raw,
            headers=_headers(request),
            replay_key=_replay_key(request, account),
            # A push replayed from the spool may have been stored before the process died.
            once=spool.spooled(request) is None,
            received_at=spool.arrived_at(request),
        )
    except Replayed:
        logger.warning("hotline %s: refused push: %s", slug, REPLAYED)
        return _error(401, AUTH_FAILED, REPLAYED)
    except NotProcessed:
        return _error(503, UNAVAILABLE, UNAVAILABLE_MESSAGE)
    except spool.OUTAGE:
        return _keep(request, slug, verified=True)
    return _answer(response)


def _keep(request: HttpRequest, slug: str, *, verified: bool) -> JsonResponse:
    """The database is away: spool the push and ask the platform to retry (503)."""
    if spool.spooled(request) is not None:
        raise spool.StillDown()
    try:
        spool.spool_write(request, channel=CHANNEL, slug=slug, verified=verified)
    except (spool.SpoolFull, RequestDataTooBig):
        logger.error("hotline push for %s refused: the spool is full", slug)
    return _error(503, UNAVAILABLE, UNAVAILABLE_MESSAGE)


def _answer(response: dict[str, Any]) -> JsonResponse:
    """The HTTP answer for a stored response (ours, or intake's for a new dispatch)."""
    if "code" not in response:
        action = response.get("action")
        if action == "failed":
            response = {"code": FAILED, "message": response.get("reason") or FAILED_MESSAGE}
        elif action == "rejected":
            response = {"code": INVALID_FIELD, "message": response.get("reason", "")}
        else:
            response = {"code": OK, "case_no": response.get("case_no", "")}
    code = int(response["code"])
    # A push we failed to process is kept (journal, for an administrator): 503, never a 500.
    status = 200 if code == OK else 503 if code >= FAILED else 400
    return _json(status, response)


def order_receive(
    *,
    account: ChannelAccount,
    order: HotlineOrder,
    raw: bytes,
    headers: dict[str, str],
    replay_key: str | None = None,
    once: bool = False,
    received_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Journal and take in one checked push; a repeat gets the stored answer (``Replayed`` for
    a reused nonce, see ``journal_store``)."""
    common: dict[str, Any] = {
        "channel": CHANNEL,
        # The journal is unique per channel: the account slug keeps two platforms apart.
        "dedupe_key": f"{account.slug}:{order.dedupe_key}",
        "raw_body": raw,
        "account": account.slug,
        "content_type": "application/json",
        "headers": headers,
        "replay_key": replay_key,
        "once": once,
        "received_at": received_at,
    }
    if order.event == "dispatch":
        ticket = orders.ticket_for_order(account=account.slug, order_no=order.order_no)
        # A first dispatch, or a newer one after the case was withdrawn (or found invalid):
        # a new case. Any other dispatch re-dispatches the order's ticket (or is stale).
        if ticket is None or ticket.state == State.INVALID:
            # Versions taken in are recorded on the order's tickets: none, no version held.
            held = (
                0
                if ticket is None
                else orders.order_version(account=account.slug, order_no=order.order_no)
            )
            if order.version > held:
                outcome = inbound_receive(parse=_dispatch_parser(account), **common)
                return outcome.response
    inbound, created = journal_store(**common)
    if not created and inbound.response is not None:
        return inbound.response  # type: ignore[no-any-return]
    try:
        return _process(inbound, lambda: HANDLERS[order.event](account, order))
    except spool.OUTAGE:
        raise NotProcessed(inbound)


def _dispatch_parser(account: ChannelAccount) -> Callable[[bytes], IncomingMessage]:
    def parse(raw: bytes) -> IncomingMessage:
        try:
            order = order_parse(raw)
        except HotlineInvalid as exc:
            raise ParseRejected(exc.message)
        category_code, department_code = orders.mapped_codes(account, order)
        return dispatch_message(
            order,
            account=account.slug,
            category_code=category_code,
            department_code=department_code,
        )

    return parse


def _code_for(exc: TicketError) -> int:
    if isinstance(exc, TicketNotFound):
        return UNKNOWN_ORDER
    if isinstance(exc, ConflictError):
        return CONFLICT
    return INVALID_FIELD


def _process(inbound: InboundMessage, handle: Callable[[], Handled]) -> dict[str, Any]:
    """Like ``journal_process`` for events that act on an existing ticket: the journal row is
    locked while the event is applied, so a retry arriving meanwhile waits and then gets the
    first answer; a refused event stays ``rejected``, a crash ``failed``, both with reasons."""
    InboundMessage.objects.filter(pk=inbound.pk).update(attempts=F("attempts") + 1)
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if locked.response is not None:
            return locked.response  # type: ignore[no-any-return]
        try:
            with transaction.atomic():
                result = handle()
        except TicketError as exc:
            result = Handled(
                response={"code": _code_for(exc), "message": exc.message},
                status=InboundMessage.Status.REJECTED,
                reason=exc.message,
            )
        except spool.OUTAGE:
            raise  # not the push's fault: it stays unanswered for the retry or recovery
        except Exception as exc:
            logger.exception("hotline inbound %s failed", inbound.pk)
            result = Handled(
                response={"code": FAILED, "message": FAILED_MESSAGE},
                status=InboundMessage.Status.FAILED,
                reason=f"{type(exc).__name__}: {exc}",
            )
        InboundMessage.objects.filter(pk=inbound.pk).update(
            status=result.status,
            reason=storable(result.reason)[:2000],
            parsed=storable_value(result.parsed) or None,
            response=storable_value(result.response),
            ticket_id=result.ticket_id,
            processed_at=timezone.now(),
        )
    return result.response


def _ticket(account: ChannelAccount, order: HotlineOrder) -> Ticket:
    ticket = orders.ticket_for_order(account=account.slug, order_no=order.order_no)
    if ticket is None:
        raise TicketNotFound(f"order_no：未找到工单 {order.order_no}（尚未派单给本单位）")
    return ticket


def _ticket_id(account: ChannelAccount, order: HotlineOrder) -> int:
    return _ticket(account, order).pk


def _done(ticket: Ticket, order: HotlineOrder, **parsed: Any) -> Handled:
    return Handled(
        response={"code": OK, "case_no": ticket.case_no},
        ticket_id=ticket.pk,
        parsed={"event": order.event, "order_no": order.order_no, "version": order.version}
        | parsed,
    )


def _redispatch(account: ChannelAccount, order: HotlineOrder) -> Handled:
    ticket = _ticket(account, order)
    held = orders.order_version(account=account.slug, order_no=order.order_no)
    if order.version <= held:
        result = _done(ticket, order, held_version=held)
        result.status = InboundMessage.Status.IGNORED
        result.reason = f"版本 {order.version} 不高于已处理的版本 {held}，未作更改"
        return result
    category = orders.mapped_category(account, order.category_code)
    department = orders.mapped_department(account, order.unit_code)
    fields: dict[str, Any] = {
        "title": order.title or ticket.title,
        "content": order.content,
        "address": full_address(order),
        "request_type": order.request_type,
        "urgency": order.urgency,
        "confidential": order.confidential,
        "category_id": category.pk if category else None,
        "department_id": department.pk if department else None,
        "resolve_due_at": order.due_at,
    }
    citizen = ticket.citizen
    caller_changed = (
        citizen is not None and bool(order.caller_phone) and (order.caller_phone != citizen.phone)
    )
    unmapped = {
        name: code
        for name, code, found in (
            ("category_code", order.category_code, category),
            ("unit_code", order.unit_code, department),
        )
        if code and found is None
    }
    ticket = ticket_redispatch(
        ticket_id=ticket.pk,
        version=order.version,
        fields=fields,
        attachments=[IncomingAttachment(name=a.name, url=a.url) for a in order.attachments],
        extra={"caller_changed": caller_changed, "unmapped_codes": unmapped},
    )
    return _done(ticket, order, previous_version=held)


def _urge(account: ChannelAccount, order: HotlineOrder) -> Handled:
    ticket = ticket_urge(ticket_id=_ticket_id(account, order), message=order.message)
    return _done(ticket, order, message=order.message)


def _supervise(account: ChannelAccount, order: HotlineOrder) -> Handled:
    ticket = ticket_supervise(ticket_id=_ticket_id(account, order), message=order.message)
    return _done(ticket, order, message=order.message)


def _recall(account: ChannelAccount, order: HotlineOrder) -> Handled:
    reason = f"12345平台撤回：{order.message}" if order.message else "12345平台撤回"
    ticket = ticket_withdraw(actor=None, ticket_id=_ticket_id(account, order), reason=reason)
    return _done(ticket, order, message=order.message)


def _feedback(account: ChannelAccount, order: HotlineOrder) -> Handled:
    ticket_id = _ticket_id(account, order)
    try:
        feedback = ticket_feedback(
            ticket_id=ticket_id,
            satisfaction=order.satisfaction,
            resolved=order.resolved,
            comment=order.comment,
            channel=CHANNEL,
        )
    except InvalidInput as exc:
        raise InvalidInput(f"feedback：{exc.message}", field="feedback")
    return _done(
        feedback.ticket,
        order,
        satisfaction=order.satisfaction,
        resolved=order.resolved,
        comment=order.comment,
    )


HANDLERS: dict[str, Callable[[ChannelAccount, HotlineOrder], Handled]] = {
    "dispatch": _redispatch,
    "urge": _urge,
    "supervise": _supervise,
    "recall": _recall,
    "feedback": _feedback,
}


def orders_reprocess(inbound: InboundMessage) -> None:
    """Take a journaled work order in again (the recovery pass, an administrator's retry)."""
    account = ChannelAccount.objects.get(kind=CHANNEL, slug=inbound.account)
    raw = bytes(inbound.raw_body)
    order_receive(account=account, order=order_parse(raw), raw=raw, headers=inbound.headers)
