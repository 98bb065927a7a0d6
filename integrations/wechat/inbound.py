"""The WeChat endpoint: ``/integrations/wechat/<slug>/`` (GET handshake, POST push).

Verify (parameters, signature, replay window, size, no DTD), journal the raw body, parse, hand
to intake, and answer at once with a passive reply. A push that passed the signature check is
always answered with WeChat XML or ``success``; what cannot be read stays in the journal as
``failed`` and is reported as an error (Sentry).

Outages (docs/resilience.md): with the database away the push is spooled to local disk
(``integrations.spool``) and answered at once, so WeChat's three tries within 15 s are never
needed and never lost; the case number follows as a customer-service message once the spool is
replayed. While the database is away the account is known from this process's last look-up,
so only authentic pushes are spooled as checked (``integrations.accounts``).

Replays: in plain mode the signature covers the query, not the body, so a signed (timestamp,
nonce) may carry one message only. It is kept on the journal row under a unique index
(``replay_key``): the check is the journal's own insert, whatever Redis does. WeChat's retry
of the identical request (same query, same body) finds its journal row and gets its answer
(dedupe on MsgId); the same query with another body is refused (403) and kept as rejected."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from integrations import journal, spool
from integrations.accounts import account_active
from integrations.journal import (
    Ignore,
    NotProcessed,
    Parser,
    Replayed,
    inbound_receive,
    inbound_reject,
)
from integrations.models import ChannelAccount
from integrations.outbound.notices import notice_received
from integrations.wechat import crypto, parser, replies
from integrations.wechat.events import event_handle
from tickets.models import Channel
from tickets.services.intake import IncomingMessage

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
REPLAY_WINDOW = 300  # seconds; settings.WECHAT_REPLAY_WINDOW overrides


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def push_parser(account: ChannelAccount) -> Parser:
    """The journal's parser for one account: decrypt when encrypted, then read the message.

    Events and unknown types raise ``Ignore`` with the response to answer with."""
    slug = account.slug
    aes_key = account.secret("encoding_aes_key")
    app_id = str(account.config.get("app_id", ""))
    safe = account.config.get("mode") == "safe"

    def parse(raw: bytes) -> IncomingMessage:
        if safe and parser.encrypted_part(raw) is None:
            raise parser.PushError("安全模式下收到未加密的消息")
        message_xml = (
            parser.unwrap(raw, encoding_aes_key=aes_key, app_id=app_id) if aes_key else raw
        )
        fields = parser.push_fields(message_xml)
        message = parser.wechat_message(fields)
        if parser.is_event(fields):
            reason, response = event_handle(account=slug, message=message)
            raise Ignore(reason, response)
        kind = str(fields["MsgType"]).lower()
        if kind not in parser.HANDLED:
            raise Ignore(f"未知消息类型 {kind[:40]}", {"action": "unknown", "reply": ""})
        return parser.incoming_from(message, account=slug)

    return parse


def _replay_window() -> int:
    return int(getattr(settings, "WECHAT_REPLAY_WINDOW", REPLAY_WINDOW))


def _replay_key(request: HttpRequest, account: ChannelAccount) -> str:
    return f"{account.slug}:{request.GET['timestamp']}:{request.GET['nonce'][:64]}"


def _verify(request: HttpRequest, account: ChannelAccount) -> HttpResponse | None:
    """None when the query is complete, signed and fresh; else the refusal. (The one-time use
    of a POST's signed query is checked with its body, in ``_push``.)"""
    params = request.GET
    needed = ["signature", "timestamp", "nonce"] + (["echostr"] if request.method == "GET" else [])
    missing = [name for name in needed if not params.get(name)]
    if missing:
        return _plain(400, f"缺少参数：{', '.join(missing)}")
    timestamp = params["timestamp"]
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return _plain(400, "timestamp 应为整数秒")
    token = account.secret("token")
    if not token:
        logger.error("wechat account %s has no token configured", account.slug)
        return _plain(403, "签名校验失败")
    if not crypto.signature_ok(params["signature"], token, timestamp, params["nonce"]):
        return _plain(403, "签名校验失败")
    if abs(spool.request_time(request) - int(timestamp)) > _replay_window():
        return _plain(403, "时间戳超出允许范围")
    return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _journal_headers(request: HttpRequest) -> dict[str, str]:
    return {
        "query": request.META.get("QUERY_STRING", "")[:1000],
        "remote_addr": request.META.get("REMOTE_ADDR", "")[:64],
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }


RECEIVED = "您的消息已收到，系统正在登记，稍后会把受理编号发给您。"


def _receive(
    request: HttpRequest, account: ChannelAccount, key: str, raw: bytes
) -> dict[str, Any] | None:
    """Journal and take in; the answer to give (None: a replay, refused). With the database
    away the push is spooled (or, stored but not yet taken in, left to the recovery pass) and
    answered as received."""
    try:
        outcome = inbound_receive(
            channel="wechat",
            account=account.slug,
            dedupe_key=key,
            raw_body=raw,
            parse=push_parser(account),
            content_type=request.content_type or "",
            headers=_journal_headers(request),
            replay_key=_replay_key(request, account),
            received_at=spool.arrived_at(request),
        )
    except Replayed:
        return None
    except NotProcessed:
        return {"action": "received", "reply": RECEIVED}
    except spool.OUTAGE:
        if spool.spooled(request) is not None:
            raise spool.StillDown() from None
        spool.spool_write(request, channel="wechat", slug=account.slug, verified=True)
        return {"action": "received", "reply": RECEIVED}
    if spool.spooled(request) is not None and not outcome.repeated:
        # No passive reply reaches the citizen for a replayed push: send its answer.
        notice_received(inbound=outcome.inbound)
    return outcome.response


def _open_encrypted(
    request: HttpRequest, account: ChannelAccount, raw: bytes
) -> bytes | HttpResponse:
    """The message XML inside an encrypted push, or the refusal. A body that passed the
    signature check but cannot be opened gives ``b""``: it is journaled as failed."""
    params = request.GET
    aes_key = account.secret("encoding_aes_key")
    if not aes_key:
        return _plain(400, "本公众号未配置 EncodingAESKey")
    if not params.get("msg_signature"):
        return _plain(400, "缺少参数：msg_signature")
    try:
        encrypted_text = parser.encrypted_part(raw)
    except parser.PushError:
        return b""
    if encrypted_text is None:
        return _plain(400, "加密消息缺少 Encrypt")
    signed = [account.secret("token"), params["timestamp"], params["nonce"], encrypted_text]
    if not crypto.signature_ok(params["msg_signature"], *signed):
        return _plain(403, "msg_signature 校验失败")
    try:
        message_xml = crypto.decrypt(
            encrypted_text, encoding_aes_key=aes_key, app_id=str(account.config.get("app_id", ""))
        )
    except crypto.ForeignAppId:
        return _plain(403, "密文不属于本公众号")
    except crypto.CryptoError:
        return b""
    if parser.UNSAFE.search(message_xml):
        return _plain(400, "不接受含 DOCTYPE/ENTITY 的 XML")
    return message_xml


def _push(request: HttpRequest, account: ChannelAccount) -> HttpResponse:
    if _content_length(request) > MAX_BODY:
        return _plain(413, "消息过大")
    try:
        raw = request.body
    except RequestDataTooBig:
        return _plain(413, "消息过大")
    if len(raw) > MAX_BODY:
        return _plain(413, "消息过大")
    if parser.UNSAFE.search(raw):
        logger.warning("wechat push for %s refused: DOCTYPE/ENTITY", account.slug)
        return _refuse(request, account, raw, 400, "不接受含 DOCTYPE/ENTITY 的 XML")
    encrypted = request.GET.get("encrypt_type", "").lower() == "aes"
    if account.config.get("mode", "plain") == "safe" and not encrypted:
        return _refuse(request, account, raw, 400, "安全模式只接受加密消息")
    encrypt_with: dict[str, str] | None = None
    message_xml = raw
    if encrypted:
        opened = _open_encrypted(request, account, raw)
        if isinstance(opened, HttpResponse):
            if opened.status_code == 400:  # signed, but not something we can take
                return _refuse(request, account, raw, 400, opened.content.decode())
            return opened
        message_xml = opened
        encrypt_with = {
            "token": account.secret("token"),
            "encoding_aes_key": account.secret("encoding_aes_key"),
            "app_id": str(account.config.get("app_id", "")),
        }
    fields: dict[str, Any] | None
    try:
        fields = parser.push_fields(message_xml)
    except Exception:  # anything unreadable is keyed by its bytes and journaled as failed
        fields = None
    key = (
        parser.dedupe_key(account.slug, fields, message_xml)
        if fields is not None
        else parser.unparsed_key(account.slug, raw)
    )
    try:
        response = _receive(request, account, key, raw)
    except spool.SpoolFull:
        logger.error("wechat push for %s refused: the spool is full", account.slug)
        return _plain(503, "")
    if response is None:
        return _plain(403, "重复的请求")
    return replies.passive_reply(
        replies.reply_text(response),
        to_user=fields["FromUserName"] if fields else "",
        from_user=fields["ToUserName"] if fields else "",
        encrypt_with=encrypt_with,
    )


def _refuse(
    request: HttpRequest, account: ChannelAccount, raw: bytes, status: int, reason: str
) -> HttpResponse:
    """Refuse a signed push we will not parse, keeping it in the journal as ``rejected``
    (keyed by its bytes: WeChat's retries of it find the same row)."""
    try:
        inbound_reject(
            channel="wechat",
            dedupe_key=parser.unparsed_key(account.slug, raw),
            raw_body=raw,
            reason=reason,
            account=account.slug,
            content_type=request.content_type or "",
        )
    except spool.OUTAGE:
        logger.warning("wechat push for %s refused and not journaled (database away)", account.slug)
    return _plain(status, reason)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def wechat_endpoint(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        account = account_active(kind=Channel.WECHAT, slug=slug)
    except spool.OUTAGE:  # the database is away and this process never saw the account
        if spool.spooled(request) is not None:
            raise spool.StillDown() from None
        if request.method != "POST":
            return _plain(503, "")
        return _spool_unverified(request, slug)
    if account is None:
        return _plain(404, "未知的公众号")
    refusal = _verify(request, account)
    if refusal is not None:
        return refusal
    if request.method == "GET":
        return _plain(200, request.GET["echostr"])
    return _push(request, account)


def _spool_unverified(request: HttpRequest, slug: str) -> HttpResponse:
    """Keep a push whose account (and so its token) cannot be read: checked when replayed."""
    if _content_length(request) > MAX_BODY:
        return _plain(413, "消息过大")
    try:
        spool.spool_write(request, channel="wechat", slug=slug, verified=False)
    except (spool.SpoolFull, RequestDataTooBig):
        return _plain(503, "")
    return HttpResponse(replies.SUCCESS, content_type="text/plain; charset=utf-8")


def wechat_reprocess(inbound: Any) -> None:
    """Take a journaled push in again (the recovery pass, an administrator's retry)."""
    account = ChannelAccount.objects.get(kind=Channel.WECHAT, slug=inbound.account)
    journal.journal_process(inbound=inbound, parse=push_parser(account))
