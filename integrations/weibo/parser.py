"""Weibo's wire format, as plain functions with no database access.

Pushes from the fan-service platform (粉丝服务平台) arrive as JSON with int64 ids; they are read
with the standard ``json`` module, which keeps integers exact (never through a float). Mentions
and comments fetched by the poller have the shape of the open API's status and comment objects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from integrations.journal import ParseRejected
from integrations.wire import WireError, json_load
from tickets.models import CitizenIdentity
from tickets.services.intake import IncomingAttachment, IncomingMessage

CHANNEL = "weibo"
SENDER_KIND = CitizenIdentity.Kind.WEIBO_UID
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"
REPLAY_WINDOW_SECONDS = 300
# Weibo's limit is 300 Chinese characters for a passive reply, 140 for a comment.
REPLY_LIMIT = 299
COMMENT_LIMIT = 140
MESSAGE_TYPES = ("text", "position", "voice", "image", "mention", "event")
EVENT_SUBTYPES = (
    "follow",
    "unfollow",
    "subscribe",
    "unsubscribe",
    "scan",
    "scan_follow",
    "click",
    "view",
)


# --- signatures -------------------------------------------------------------------------------


def signature_compute(*, app_secret: str, timestamp: str, nonce: str) -> str:
    """SHA-1 hex of App Secret, timestamp and nonce, sorted as strings and joined."""
    joined = "".join(sorted([app_secret, timestamp, nonce]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def signature_valid(*, app_secret: str, timestamp: str, nonce: str, signature: str) -> bool:
    if not app_secret:
        return False
    expected = signature_compute(app_secret=app_secret, timestamp=timestamp, nonce=nonce)
    return hmac.compare_digest(
        expected.encode(), signature.strip().lower().encode("ascii", "replace")
    )


def timestamp_fresh(timestamp: str, *, now: dt.datetime) -> bool:
    """The push's millisecond timestamp lies within the replay window around ``now``."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        return False
    sent = int(timestamp) / 1000
    return abs(now.timestamp() - sent) <= REPLAY_WINDOW_SECONDS


# --- pushes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeiboEvent:
    """An event push (follow, unfollow, scan, click, ...): no ticket, maybe a reply."""

    subtype: str
    sender_id: str
    at: dt.datetime | None
    key: str = ""


@dataclass(frozen=True)
class UnknownPush:
    """A push of a type or subtype we do not know: kept in the journal, nothing else."""

    kind: str
    sender_id: str


@dataclass
class Push:
    """The few fields of a push the view needs before parsing (dedupe key, reply addresses)."""

    payload: dict[str, Any] | None
    sender_id: int | None = None
    receiver_id: int | None = None


def payload_load(raw: bytes) -> dict[str, Any]:
    """The push as a dict; raises ``WireError`` (a ValueError) on anything that is not a JSON
    object or is nested too deep. (Text the database cannot store is refused by the journal,
    naming the field.)"""
    data = json_load(raw)
    if not isinstance(data, dict):
        raise WireError("body", "不是 JSON 对象")
    return data


MAX_ID = 2**63 - 1


def _int_id(value: Any) -> int | None:
    """An int64 id from an int or a string of ASCII digits; floats are refused (precision),
    and so is anything beyond int64 (``"²"`` is a digit to ``str.isdigit`` but no number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_ID:
        return value
    return None


def push_peek(raw: bytes) -> Push:
    """Read what the view needs from a push without failing on a bad body (it runs before the
    journal: nothing here may raise)."""
    try:
        payload = payload_load(raw)
    except Exception:
        return Push(payload=None)
    return Push(
        payload=payload,
        sender_id=_int_id(payload.get("sender_id")),
        receiver_id=_int_id(payload.get("receiver_id")),
    )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def dedupe_key(raw: bytes, push: Push, *, account: str) -> str:
    """sender + created_at + a hash of (type, text, data); Weibo's pushes have no message id.

    Two different messages in the same second differ in the hash; a retry (same payload, new
    timestamp and nonce in the query) has the same key. A body we cannot read is keyed on the
    hash of its bytes, so its retries are recognised too. The account comes first: one citizen
    may write the same words to two of our accounts in the same second."""
    payload = push.payload
    raw_key = f"{account}:raw:{hashlib.sha256(raw).hexdigest()}"
    if payload is None or push.sender_id is None:
        return raw_key
    try:
        content = canonical_json([payload.get("type"), payload.get("text"), payload.get("data")])
        digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
        created = str(payload.get("created_at", ""))[:40]
    except Exception:  # runs before the journal: never fail here
        return raw_key
    return f"{account}:{push.sender_id}:{created}:{digest}"


def created_at_parse(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.datetime.strptime(value.strip(), CREATED_AT_FORMAT)
    except ValueError:
        return None


def _decimal(value: Any, *, limit: int) -> Decimal | None:
    """A coordinate within ±``limit`` degrees, to six places; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)[:40])
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) > limit:
        return None
    return number.quantize(Decimal("0.000001"))


def _media_attachment(kind: str, data: dict[str, Any]) -> IncomingAttachment:
    media_id = str(data.get("vfid") or data.get("tovfid") or data.get("media_id") or "")
    return IncomingAttachment(
        name="微博语音" if kind == "voice" else "微博图片",
        media_id=media_id,
        content_type="audio/amr" if kind == "voice" else "image/jpeg",
    )


def push_parse(raw: bytes, *, account: str) -> IncomingMessage | WeiboEvent | UnknownPush:
    """Turn a push into an IncomingMessage, an event, or an unknown push.

    Raises ValueError for a body that is not a JSON object or is nested too deep (the journal
    records it as failed) and ParseRejected for JSON that lacks a sender."""
    payload = payload_load(raw)
    sender = _int_id(payload.get("sender_id"))
    if sender is None:
        raise ParseRejected("微博消息缺少发送者 sender_id。")
    sender_id = str(sender)
    kind = str(payload.get("type") or "")
    data = payload.get("data")
    data = data if isinstance(data, dict) else {}
    text = payload.get("text")
    text = text if isinstance(text, str) else ""
    sent_at = created_at_parse(payload.get("created_at"))
    if kind == "event":
        subtype = str(data.get("subtype") or "")
        if subtype not in EVENT_SUBTYPES:
            return UnknownPush(kind=f"event:{subtype}", sender_id=sender_id)
        return WeiboEvent(
            subtype=subtype, sender_id=sender_id, at=sent_at, key=str(data.get("key") or "")
        )
    if kind not in MESSAGE_TYPES:
        return UnknownPush(kind=kind, sender_id=sender_id)
    message = IncomingMessage(
        channel=CHANNEL,
        account=account,
        sender_kind=SENDER_KIND,
        sender_id=sender_id,
        text=text,
        sent_at=sent_at,
    )
    if kind == "position":
        message.latitude = _decimal(data.get("latitude"), limit=90)
        message.longitude = _decimal(data.get("longitude"), limit=180)
        if message.latitude is None or message.longitude is None:
            message.latitude = message.longitude = None
        message.address = str(data.get("address") or "")
        message.may_open = False
    elif kind in ("voice", "image"):
        message.attachments = [_media_attachment(kind, data)]
        message.may_open = False
    return message


def reply_text_for(response: dict[str, Any], *, limit: int = REPLY_LIMIT) -> str:
    """What to tell the citizen for a journal answer ("" when there is nothing to say)."""
    text = str(response.get("reply") or "")
    if not text and response.get("action") == "rejected":
        text = str(response.get("reason") or "")
    if not text:
        return ""
    url = str(response.get("lookup_url") or "")
    if url and url not in text and len(text) + len(url) + 4 <= limit:
        text = f"{text} 查询：{url}"
    if len(text) > limit:
        case_no = str(response.get("case_no") or "")
        short = f"已收到，编号 {case_no}，查询：{url}" if case_no and url else ""
        text = short if short and len(short) <= limit else text[: limit - 1] + "…"
    return text


def passive_reply(*, our_uid: int, citizen_uid: int, text: str) -> str:
    """The JSON body Weibo relays as a private message; ``data`` is URL-encoded UTF-8 JSON."""
    data = quote(json.dumps({"text": text[:REPLY_LIMIT]}, ensure_ascii=False), safe="")
    # The ids are Python ints, so json writes every digit (no float on the way).
    return json.dumps(
        {
            "result": True,
            "sender_id": our_uid,
            "receiver_id": citizen_uid,
            "type": "text",
            "data": data,
        }
    )


# --- polled mentions and comments -------------------------------------------------------------


@dataclass(frozen=True)
class PolledItem:
    """A mention (a status that @-mentions us) or a comment addressed to us."""

    kind: str  # status | comment
    id: int
    status_id: int  # the status the item is, or the status a comment is on
    user_id: int | None
    screen_name: str
    text: str
    created_at: dt.datetime | None

    @property
    def dedupe_key(self) -> str:
        return f"{self.kind}:{self.id}"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def polled_items(payload: Any, *, kind: str) -> list[PolledItem]:
    """The statuses (kind ``status``) or comments (kind ``comment``) of an API answer, oldest
    first. Raises ValueError if the answer is not the expected shape."""
    list_key = "statuses" if kind == "status" else "comments"
    if not isinstance(payload, dict) or not isinstance(payload.get(list_key), list):
        error = payload.get("error") if isinstance(payload, dict) else None
        raise ValueError(f"unexpected answer for {list_key}: {error or type(payload).__name__}")
    items: list[PolledItem] = []
    for entry in payload[list_key]:
        if not isinstance(entry, dict):
            continue
        item_id = _int_id(entry.get("idstr")) or _int_id(entry.get("id"))
        if item_id is None:
            continue
        user = _dict(entry.get("user"))
        status = _dict(entry.get("status"))
        status_id = item_id
        if kind == "comment":
            status_id = _int_id(status.get("idstr")) or _int_id(status.get("id")) or 0
        items.append(
            PolledItem(
                kind=kind,
                id=item_id,
                status_id=status_id,
                user_id=_int_id(user.get("idstr")) or _int_id(user.get("id")),
                screen_name=str(user.get("screen_name") or ""),
                text=str(entry.get("text") or ""),
                created_at=created_at_parse(entry.get("created_at")),
            )
        )
    return sorted(items, key=lambda item: item.id)


def polled_message(item: PolledItem, *, account: str) -> IncomingMessage:
    if item.user_id is None:
        raise ParseRejected("微博内容缺少作者。")
    return IncomingMessage(
        channel=CHANNEL,
        account=account,
        sender_kind=SENDER_KIND,
        sender_id=str(item.user_id),
        sender_name=item.screen_name,
        text=item.text,
        sent_at=item.created_at,
    )


def polled_raw(item: PolledItem) -> bytes:
    """What the journal keeps for a polled item (ids as strings: exact in any JSON reader)."""
    return canonical_json(
        {
            "kind": item.kind,
            "id": str(item.id),
            "status_id": str(item.status_id),
            "user_id": str(item.user_id) if item.user_id is not None else None,
            "screen_name": item.screen_name,
            "text": item.text,
            "created_at": item.created_at.isoformat() if item.created_at else None,
        }
    ).encode("utf-8")


def polled_parse(raw: bytes, *, account: str) -> IncomingMessage:
    data = json.loads(raw.decode("utf-8"))
    item = PolledItem(
        kind=data["kind"],
        id=int(data["id"]),
        status_id=int(data["status_id"]),
        user_id=int(data["user_id"]) if data.get("user_id") else None,
        screen_name=data.get("screen_name") or "",
        text=data.get("text") or "",
        created_at=dt.datetime.fromisoformat(data["created_at"])
        if data.get("created_at")
        else None,
    )
    return polled_message(item, account=account)
