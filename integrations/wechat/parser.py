"""WeChat push XML → a wechatpy message → a channel-neutral ``IncomingMessage``.

Pure functions, no database. wechatpy parses with xmltodict, which accepts duplicate tags (a
list where a string was expected), a missing root or a missing ``MsgType`` and then fails deep
inside; so the XML is read here with defusedxml into a flat dict of strings, checked, and only
then handed to wechatpy's message classes."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import BaseMessage, UnknownMessage

from integrations.wechat import crypto
from tickets.models import CitizenIdentity
from tickets.services.intake import IncomingAttachment, IncomingMessage

UNSAFE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
OPENID = re.compile(r"[A-Za-z0-9_-]{1,128}")
DIGITS = re.compile(r"[0-9]{1,20}")
MAX_FIELDS = 100
# WeChat's deepest push (SendPicsInfo > PicList > item > PicMd5Sum) is 4 levels under <xml>.
MAX_DEPTH = 8
HANDLED = ("text", "image", "voice", "video", "shortvideo", "location", "link")
SIX_PLACES = Decimal("0.000001")


class PushError(ValueError):
    """The push cannot be understood; it is kept in the journal as failed with this reason."""


class UnsafeXml(PushError):
    """The body declares a DTD or entities: refused before any parser sees it."""


def refuse_unsafe(raw: bytes) -> None:
    if UNSAFE.search(raw):
        raise UnsafeXml("消息含有 DOCTYPE/ENTITY 声明")


def _element_value(element: Element, depth: int = 1) -> Any:
    if len(element) == 0:
        return element.text or ""
    if depth >= MAX_DEPTH:
        raise PushError(f"元素嵌套超过 {MAX_DEPTH} 层")
    # Nested elements (SendPicsInfo, ScanCodeInfo…) become dicts, as wechatpy expects.
    if len(element) > MAX_FIELDS:
        raise PushError("元素过多")
    out: dict[str, Any] = {}
    for child in element:
        value = _element_value(child, depth + 1)
        if child.tag in out:
            previous = out[child.tag]
            out[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[child.tag] = value
    return out


def xml_fields(raw: bytes) -> dict[str, Any]:
    """The children of the ``<xml>`` root, each at most once, values as text."""
    refuse_unsafe(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PushError(f"消息不是 UTF-8 编码（第 {exc.start} 字节）") from exc
    try:
        # A str, so an encoding declaration in the prolog cannot re-decode the bytes.
        root = SafeET.fromstring(text, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise PushError(f"XML 无法解析：{exc}") from exc
    if root.tag != "xml":
        raise PushError(f"根元素应为 <xml>，实为 <{root.tag[:40]}>")
    fields: dict[str, Any] = {}
    for child in root:
        if child.tag in fields:
            raise PushError(f"元素 <{child.tag[:40]}> 重复")
        if len(fields) >= MAX_FIELDS:
            raise PushError("元素过多")
        fields[child.tag] = _element_value(child)
    return fields


def push_fields(raw: bytes) -> dict[str, Any]:
    """``xml_fields`` plus the checks every pushed message must pass."""
    fields = xml_fields(raw)
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not isinstance(fields.get(name), str) or not fields[name].strip():
            raise PushError(f"缺少 {name}")
        fields[name] = fields[name].strip()
    if not OPENID.fullmatch(fields["FromUserName"]):
        raise PushError("FromUserName 不是合法的 OpenID")
    if not OPENID.fullmatch(fields["ToUserName"]):
        raise PushError("ToUserName 不合法")
    if not DIGITS.fullmatch(fields["CreateTime"]) or len(fields["CreateTime"]) > 12:
        raise PushError(f"CreateTime 不是整数：{fields['CreateTime'][:40]!r}")
    if "MsgId" in fields:
        msg_id = fields["MsgId"]
        if not isinstance(msg_id, str) or not DIGITS.fullmatch(msg_id.strip()):
            raise PushError("MsgId 不是整数")
        fields["MsgId"] = msg_id.strip()
    return fields


def encrypted_part(raw: bytes) -> str | None:
    """The ``Encrypt`` element's text of a safe/compatible-mode body, None when absent."""
    fields = xml_fields(raw)
    value = fields.get("Encrypt")
    if value is None:
        return None
    if not isinstance(value, str):
        raise PushError("Encrypt 元素格式错误")
    return value


def unwrap(raw: bytes, *, encoding_aes_key: str, app_id: str) -> bytes:
    """The message XML: decrypted when the body carries ``Encrypt``, else the body itself."""
    encrypted = encrypted_part(raw)
    if encrypted is None:
        return raw
    try:
        return crypto.decrypt(encrypted, encoding_aes_key=encoding_aes_key, app_id=app_id)
    except crypto.CryptoError as exc:
        raise PushError(f"密文无法解密：{exc}") from exc


def wechat_message(fields: dict[str, Any]) -> BaseMessage:
    """The wechatpy message or event class for checked fields (as wechatpy's parser picks)."""
    from wechatpy.messages import MESSAGE_TYPES

    data = dict(fields)
    message_type = str(data["MsgType"]).lower()
    if message_type != "event":
        return MESSAGE_TYPES.get(message_type, UnknownMessage)(data)
    event = str(data.get("Event") or "").strip().lower()
    key = data.get("EventKey") if isinstance(data.get("EventKey"), str) else ""
    if event == "subscribe" and key and key.startswith("qrscene_"):
        event = "subscribe_scan"
        data["Event"], data["EventKey"] = event, key[len("qrscene_") :]
    return EVENT_TYPES.get(event, UnknownMessage)(data)


def is_event(fields: dict[str, Any]) -> bool:
    return str(fields.get("MsgType", "")).lower() == "event"


def dedupe_key(account: str, fields: dict[str, Any], message_xml: bytes) -> str:
    """MsgId for messages; FromUserName + CreateTime + Event + EventKey for events."""
    sender, created = fields["FromUserName"], fields["CreateTime"]
    if is_event(fields):
        event_key = fields.get("EventKey") if isinstance(fields.get("EventKey"), str) else ""
        key = f"{account}:event:{sender}:{created}:{fields.get('Event', '')}:{event_key}"
    elif fields.get("MsgId"):
        key = f"{account}:msg:{fields['MsgId']}"
    else:
        key = f"{account}:nomsgid:{sender}:{created}:{hashlib.sha256(message_xml).hexdigest()}"
    if len(key) > 200:
        key = f"{account}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def unparsed_key(account: str, raw: bytes) -> str:
    """For a body we cannot read: WeChat's retry of the same bytes finds the same row."""
    return f"{account}:unparsed:{hashlib.sha256(raw).hexdigest()}"


def _decimal(value: Any, name: str, limit: int) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise PushError(f"{name} 不是数字") from exc
    if not number.is_finite() or abs(number) > limit:
        raise PushError(f"{name} 超出范围")
    return number.quantize(SIX_PLACES)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def incoming_from(message: BaseMessage, *, account: str) -> IncomingMessage:
    """A checked message (not an event) as intake sees it."""
    fields: dict[str, Any] = message._data
    kind = str(fields["MsgType"]).lower()
    incoming = IncomingMessage(
        channel="wechat",
        account=account,
        sender_kind=CitizenIdentity.Kind.WECHAT_OPENID,
        sender_id=fields["FromUserName"],
        sent_at=dt.datetime.fromtimestamp(int(fields["CreateTime"]), tz=dt.UTC),
        external_ref="",
    )
    media_id = _text(fields.get("MediaId"))[:200]
    if kind == "text":
        incoming.text = _text(fields.get("Content"))
    elif kind == "voice":
        incoming.text = _text(fields.get("Recognition")).strip()
        incoming.attachments = [
            IncomingAttachment(
                name="语音", media_id=media_id, content_type=f"audio/{_text(fields.get('Format'))}"
            )
        ]
        incoming.may_open = bool(incoming.text)
    elif kind == "image":
        incoming.attachments = [
            IncomingAttachment(
                name="图片",
                url=_text(fields.get("PicUrl")),
                media_id=media_id,
                content_type="image",
            )
        ]
        incoming.may_open = False
    elif kind in ("video", "shortvideo"):
        incoming.attachments = [
            IncomingAttachment(name="视频", media_id=media_id, content_type="video")
        ]
        incoming.may_open = False
    elif kind == "location":
        incoming.latitude = _decimal(fields.get("Location_X"), "Location_X", 90)
        incoming.longitude = _decimal(fields.get("Location_Y"), "Location_Y", 180)
        incoming.address = _text(fields.get("Label")).strip()[:300]
        incoming.may_open = False
    elif kind == "link":
        parts = [_text(fields.get(name)).strip() for name in ("Title", "Description", "Url")]
        incoming.text = "\n".join(part for part in parts if part)
        incoming.title = parts[0][:200]
    else:
        raise PushError(f"不处理的消息类型 {kind}")
    return incoming
