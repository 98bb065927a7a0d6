"""Weibo fan-service pushes: verify, journal, parse, hand to intake, answer passively.

GET is the developer-mode handshake (echo ``echostr``); POST is a private message, a mention
or an event. The signature covers only the query (App Secret, millisecond timestamp, nonce),
not the body, so a signed (timestamp, nonce) may carry one message: it is kept on the journal
row under a unique index, and the same signed query with another body is refused.

Outages (docs/resilience.md): with the database away the push is spooled and answered with an
empty 200 (the answer follows as a private message once replayed). Redis plays no part."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations import journal, spool
from integrations.accounts import account_active
from integrations.journal import Ignore, NotProcessed, Parser, Replayed, inbound_receive
from integrations.models import ChannelAccount
from integrations.outbound.notices import notice_received
from integrations.weibo import parser
from integrations.weibo.parser import UnknownPush, WeiboEvent
from tickets.models import CitizenIdentity
from tickets.services.intake import IncomingMessage

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
WELCOME = (
    "感谢关注！直接发私信即可反映诉求，我们会回复受理编号和查询链接；"
    "发送“进度 编号”可查询办理进度。"
)
# Events that open the 48-hour window for private messages.
WINDOW_EVENTS = ("follow", "subscribe", "scan", "scan_follow", "click", "view")
FOLLOW_EVENTS = ("follow", "subscribe", "scan_follow")
UNFOLLOW_EVENTS = ("unfollow", "unsubscribe")


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def identity_event_apply(*, account: str, event: WeiboEvent) -> None:
    """Remember what an event says about a known citizen: a follow, click or scan opens the
    private-message window; an unfollow closes it until the citizen writes again."""
    identities = CitizenIdentity.objects.filter(
        kind=parser.SENDER_KIND, account=account, value=event.sender_id
    )
    if event.subtype in UNFOLLOW_EVENTS:
        identities.update(subscribed=False)
    elif event.subtype in FOLLOW_EVENTS:
        identities.update(subscribed=True, last_seen_at=timezone.now())
    elif event.subtype in WINDOW_EVENTS:
        identities.update(last_seen_at=timezone.now())


def push_parser(account: str) -> Parser:
    """The journal's parser for one account's pushes (events act on the identity, once)."""

    def parse(raw: bytes) -> IncomingMessage:
        result = parser.push_parse(raw, account=account)
        if isinstance(result, IncomingMessage):
            return result
        if isinstance(result, UnknownPush):
            raise Ignore(f"未知的微博消息类型：{result.kind}", {"action": "ignored"})
        identity_event_apply(account=account, event=result)
        response: dict[str, Any] = {"action": "ignored", "event": result.subtype}
        if result.subtype in FOLLOW_EVENTS:
            response["reply"] = WELCOME
        raise Ignore(f"微博事件：{result.subtype}", response)

    return parse


def _our_uid(account: ChannelAccount) -> int | None:
    value = str(account.config.get("uid", "")).strip()
    return int(value) if value.isdigit() else None


@csrf_exempt
def weibo_endpoint(request: HttpRequest, slug: str) -> HttpResponse:
    """Verify, journal, parse and hand over to intake; answer with a passive reply."""
    if request.method not in ("GET", "POST"):
        return _text("只支持 GET 和 POST。", 405)
    try:
        account = account_active(kind=parser.CHANNEL, slug=slug)
    except spool.OUTAGE:  # the database is away and this process never saw the account
        return _unverified(request, slug)
    if account is None:
        return _text("未找到该微博账号。", 404)
    signature = request.GET.get("signature", "")
    timestamp = request.GET.get("timestamp", "")
    nonce = request.GET.get("nonce", "")
    if not (signature and timestamp and nonce):
        return _text("缺少 signature、timestamp 或 nonce 参数。", 400)
    if not parser.signature_valid(
        app_secret=account.secret("app_secret"),
        timestamp=timestamp,
        nonce=nonce,
        signature=signature,
    ):
        return _text("签名校验失败。", 403)
    if request.method == "GET":
        echostr = request.GET.get("echostr", "")
        if not echostr:
            return _text("缺少 echostr 参数。", 400)
        return _text(echostr, 200)

    arrived = dt.datetime.fromtimestamp(spool.request_time(request), tz=dt.UTC)
    if not parser.timestamp_fresh(timestamp, now=arrived):
        return _text("时间戳超出允许范围。", 403)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return _text("消息过大。", 413)
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        return _text("消息过大。", 413)
    push = parser.push_peek(raw)
    try:
        response = _receive(request, slug, raw, push)
    except Replayed:
        return _text("该签名已被使用。", 403)
    if response is None:
        return _text("", 503)
    text = parser.reply_text_for(response)
    our_uid = _our_uid(account)
    if not text or push.sender_id is None or our_uid is None:
        return _text("", 200)
    body = parser.passive_reply(our_uid=our_uid, citizen_uid=push.sender_id, text=text)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


def _receive(
    request: HttpRequest, slug: str, raw: bytes, push: parser.Push
) -> dict[str, Any] | None:
    """Journal and take in; the answer (None: could be kept nowhere, Weibo should retry).
    Raises ``Replayed`` for a used signed query carrying another body."""
    try:
        outcome = inbound_receive(
            channel=parser.CHANNEL,
            account=slug,
            dedupe_key=parser.dedupe_key(raw, push, account=slug),
            raw_body=raw,
            parse=push_parser(slug),
            content_type=request.content_type or "",
            headers={
                "timestamp": request.GET.get("timestamp", ""),
                "nonce": request.GET.get("nonce", ""),
            },
            replay_key=f"{slug}:{request.GET['timestamp'][:20]}:{request.GET['nonce'][:64]}",
            received_at=spool.arrived_at(request),
        )
    except NotProcessed:
        return {}
    except spool.OUTAGE:
        if spool.spooled(request) is not None:
            raise spool.StillDown() from None
        try:
            spool.spool_write(request, channel=parser.CHANNEL, slug=slug, verified=True)
        except spool.SpoolFull:
            return None
        return {}
    if spool.spooled(request) is not None and not outcome.repeated:
        notice_received(inbound=outcome.inbound)
    return outcome.response


def _unverified(request: HttpRequest, slug: str) -> HttpResponse:
    """The account cannot be read: keep a POST to check and take in when it is replayed."""
    if spool.spooled(request) is not None:
        raise spool.StillDown()
    if request.method != "POST":
        return _text("", 503)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return _text("消息过大。", 413)
    try:
        spool.spool_write(request, channel=parser.CHANNEL, slug=slug, verified=False)
    except spool.SpoolFull:
        return _text("", 503)
    return _text("", 200)


def weibo_reprocess(inbound: Any) -> None:
    """Take a journaled push or polled item in again (the recovery pass, an administrator)."""
    if (inbound.headers or {}).get("source") == "poll":
        parse: Parser = partial(parser.polled_parse, account=inbound.account)
    else:
        parse = push_parser(inbound.account)
    journal.journal_process(inbound=inbound, parse=parse)
