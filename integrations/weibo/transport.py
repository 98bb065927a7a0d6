"""Talking to Weibo's open API: private-message replies to citizens, comment replies to
mentions and comments, and the reads the poller makes.

Everything here runs in background work (the outbox worker, the poll job), never in a web
request or inside a database transaction. Failures raise ``DeliveryError``: ``permanent`` when
trying again the same way cannot help (outside the 48-hour window, after an unfollow, a
refused request), so the worker falls back to SMS or marks the row undeliverable.

Media: ``media_fetch`` downloads a private message's image or voice (by its ``vfid``/``tovfid``)
from the fan-service platform's file API (``mss/msget``, or the account's ``media_url``) for the
media-download job (``integrations.media``)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from integrations.media.fetch import ApiJson, Fetched, Limits, api_fetch, http_fetch
from integrations.media.sniff import kind_of_hint
from integrations.models import ChannelAccount, OutboxMessage
from integrations.outbound.base import DeliveryError, Notice
from integrations.outbound.processor import Result
from integrations.weibo.parser import COMMENT_LIMIT, REPLY_LIMIT, SENDER_KIND

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weibo.com/2"
DEFAULT_MEDIA_URL = "https://upload.api.weibo.com/2/mss/msget"
TIMEOUT_SECONDS = 10.0
MESSAGE_WINDOW = dt.timedelta(hours=48)
COMMENT_WINDOW = dt.timedelta(hours=48)
COMMENT_REPLY_KIND = "weibo_comment_reply"
# Rate limits and Weibo's own trouble: worth another try later.
TRANSIENT_ERROR_CODES = {10001, 10009, 10022, 10023, 10024}


def api_base(account: ChannelAccount) -> str:
    return str(account.config.get("api_base") or DEFAULT_API_BASE).rstrip("/")


def _error_from(status: int, body: bytes) -> DeliveryError:
    code, message = 0, body[:200].decode("utf-8", "replace")
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            code = int(data.get("error_code") or 0)
            message = str(data.get("error") or message)
    except (ValueError, TypeError):
        pass
    transient = status >= 500 or status == 429 or code in TRANSIENT_ERROR_CODES
    return DeliveryError(f"weibo HTTP {status} error {code}: {message}", permanent=not transient)


def api_request(
    account: ChannelAccount, path: str, *, params: dict[str, str], method: str = "GET"
) -> Any:
    """Call ``<api_base>/<path>`` with the account's access token; the answer's JSON.

    Raises DeliveryError for a refused call or an unreachable API, ValueError when the
    answer is not JSON."""
    query = {**params, "access_token": account.secret("access_token")}
    url = f"{api_base(account)}/{path}"
    data: bytes | None = None
    if method == "GET":
        url += "?" + urlencode(query)
    else:
        data = urlencode(query).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - https base
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise _error_from(exc.code, exc.read()) from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        raise DeliveryError(f"weibo API unreachable: {exc}") from exc
    answer = json.loads(body.decode("utf-8"))
    if isinstance(answer, dict) and answer.get("error_code"):
        raise _error_from(400, body)
    return answer


def _post(account: ChannelAccount, path: str, params: dict[str, str]) -> Any:
    """A sending call: an unreadable answer is a failure to retry, like an unreachable API."""
    try:
        return api_request(account, path, params=params, method="POST")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DeliveryError(f"weibo {path}: unreadable answer: {exc}") from exc


def _account_for(account: Any, identity: Any) -> ChannelAccount:
    if isinstance(account, ChannelAccount):
        return account
    slug = account if isinstance(account, str) and account else getattr(identity, "account", "")
    found = ChannelAccount.objects.filter(kind="weibo", slug=slug, active=True).first()
    if found is None:
        raise DeliveryError(f"no active weibo account {slug!r}", permanent=True)
    return found


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notice_text(notice: Notice, *, limit: int = REPLY_LIMIT) -> str:
    text = notice.text
    if notice.url and notice.url not in text:
        text = f"{text} 查询：{notice.url}"
    return _clip(text, limit)


def weibo_message_send(account: Any, uid: str, notice: Notice, identity: Any) -> str:
    """Send a notice as a private-message reply (``messages/reply``).

    Weibo allows it only within 48 hours of the citizen's last message, follow, click or
    scan, and never after an unfollow; outside that it is a permanent failure."""
    if identity is None or getattr(identity, "kind", "") != SENDER_KIND:
        raise DeliveryError("no weibo identity for this citizen", permanent=True)
    if not identity.subscribed:
        raise DeliveryError("citizen unfollowed the weibo account", permanent=True)
    last_seen = getattr(identity, "last_seen_at", None)
    if last_seen is None or timezone.now() - last_seen > MESSAGE_WINDOW:
        raise DeliveryError("outside weibo's 48-hour private-message window", permanent=True)
    if not str(uid).isdigit():
        raise DeliveryError(f"not a weibo uid: {uid!r}", permanent=True)
    weibo = _account_for(account, identity)
    _post(
        weibo,
        "messages/reply.json",
        {
            "receiver_id": str(uid),
            "type": "text",
            "data": json.dumps({"text": notice_text(notice)}, ensure_ascii=False),
            "save_sender_box": "1",
        },
    )
    return "weibo:message"


def comment_reply_send(outbox: OutboxMessage) -> str:
    """Send an outbox row of kind ``weibo_comment_reply``: a reply to a comment
    (``comments/reply``) or, for an @-mention, a comment on the mentioning status
    (``comments/create``), within Weibo's 48 hours."""
    payload = outbox.payload
    mentioned_at = payload.get("mentioned_at")
    if mentioned_at and timezone.now() - dt.datetime.fromisoformat(mentioned_at) > COMMENT_WINDOW:
        raise DeliveryError("more than 48 hours after the mention", permanent=True)
    if outbox.account is None:
        raise DeliveryError("outbox row has no weibo account", permanent=True)
    text = _clip(str(payload.get("text") or ""), COMMENT_LIMIT)
    if not text:
        raise DeliveryError("empty comment reply", permanent=True)
    if payload.get("target") == "comment":
        _post(
            outbox.account,
            "comments/reply.json",
            {"cid": str(payload["cid"]), "id": str(payload["id"]), "comment": text},
        )
        return "weibo:comment_reply"
    _post(outbox.account, "comments/create.json", {"id": str(payload["id"]), "comment": text})
    return "weibo:comment_create"


def comment_reply_handle(outbox: OutboxMessage) -> Result:
    """The outbox worker's handler for ``weibo_comment_reply`` rows."""
    try:
        via = comment_reply_send(outbox)
    except DeliveryError as exc:
        return Result("failed" if exc.permanent else "retry", error=str(exc))
    return Result("sent", via=via)


def media_fetch(account: Any, attachment: Any, limits: Limits) -> Fetched:
    """A private message's image or voice, by its file id, with the account's access token;
    an attachment that came with a URL instead is fetched from it (guarded)."""
    expect = kind_of_hint(attachment.content_type)
    if not attachment.media_id:
        if not attachment.source_url:
            raise DeliveryError("微博消息没有文件 ID，也没有地址", permanent=True)
        fetched = http_fetch(attachment.source_url, limits=limits, expect=expect)
        fetched.via = "weibo:url"
        return fetched
    if not isinstance(account, ChannelAccount):
        raise DeliveryError("找不到收到该私信的微博账号", permanent=True)
    token = account.secret("access_token")
    if not token:
        raise DeliveryError("微博账号未配置 access token", permanent=True)
    answer = api_fetch(
        str(account.config.get("media_url") or DEFAULT_MEDIA_URL),
        limits=limits,
        expect=expect,
        params={"fid": attachment.media_id, "access_token": token},
    )
    if isinstance(answer, ApiJson):
        body = json.dumps(answer.data, ensure_ascii=False).encode("utf-8")
        raise _error_from(answer.status if answer.status >= 400 else 400, body)
    answer.via = "weibo:msget"
    return answer
