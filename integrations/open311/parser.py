"""POST requests.{fmt}: form fields into a channel-neutral message."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from integrations import journal
from integrations.journal import ParseRejected
from integrations.wire import text_problem
from tickets.models import Category, CitizenIdentity, RequestType
from tickets.services.intake import IncomingAttachment, IncomingMessage

CHANNEL = "open311"
MAX_DESCRIPTION = 4000
MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# Anonymous reports: one identity per API client, so they never join each other's cases.
ANONYMOUS_KIND = "open311_client"


def _fields(raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseRejected("请求内容不是 UTF-8 编码。")
    return {
        key: values[0].strip() for key, values in parse_qs(text, keep_blank_values=True).items()
    }


def _coordinate(value: str, name: str, limit: int) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ParseRejected(f"{name} 不是有效的数字：{value[:30]}")
    if not number.is_finite() or abs(number) > limit:
        raise ParseRejected(f"{name} 超出范围：{value[:30]}")
    return number.quantize(Decimal("0.000001"))


def _name(first: str, last: str) -> str:
    # Chinese names put the family name first; others "first last".
    if any("\u4e00" <= char <= "\u9fff" for char in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


def parser_for(client: str) -> Callable[[bytes], IncomingMessage]:
    """The parser for one API client (``client`` is its key prefix, never the key)."""

    def parse(raw: bytes) -> IncomingMessage:
        data = _fields(raw)
        problem = text_problem(data)
        if problem is not None:
            raise ParseRejected(f"{problem[0]} {problem[1]}。")
        code = data.get("service_code", "")
        if not code:
            raise ParseRejected("缺少 service_code（服务分类）。")
        if not Category.objects.filter(code=code, active=True).exists():
            raise ParseRejected(f"service_code 无效：{code[:40]}")
        description = data.get("description", "")
        if not description:
            raise ParseRejected("缺少 description（诉求内容）。")
        if len(description) > MAX_DESCRIPTION:
            raise ParseRejected(f"description 不能超过 {MAX_DESCRIPTION} 字。")
        lat = _coordinate(data.get("lat", ""), "lat", 90)
        lng = _coordinate(data.get("long", ""), "long", 180)
        if (lat is None) != (lng is None):
            raise ParseRejected("lat 和 long 必须同时提供。")
        phone = re.sub(r"[\s()（）-]", "", data.get("phone", ""))
        if phone and not (MOBILE.match(phone) or LANDLINE.match(phone)):
            raise ParseRejected("phone 不是有效的手机或固定电话号码。")
        email = data.get("email", "").lower()
        if email and (len(email) > 128 or not EMAIL.match(email)):
            raise ParseRejected("email 格式无效（最长 128 个字符）。")
        request_type = data.get("attribute[request_type]", "") or RequestType.HELP
        if request_type not in RequestType.values:
            raise ParseRejected(f"attribute[request_type] 无效：{request_type[:20]}")
        kind: str
        if phone:
            kind, sender = CitizenIdentity.Kind.PHONE, phone.removeprefix("+86")
        elif email:
            kind, sender = CitizenIdentity.Kind.EMAIL, email
        else:
            kind, sender = ANONYMOUS_KIND, f"anonymous:{client}"
        media = data.get("media_url", "")
        attachments = (
            [IncomingAttachment(url=media[:500], name=media.rsplit("/", 1)[-1][:200])]
            if media.startswith(("http://", "https://"))
            else []
        )
        return IncomingMessage(
            channel=CHANNEL,
            sender_kind=kind,
            sender_id=sender,
            account=client,
            text=description,
            sender_name=_name(data.get("first_name", ""), data.get("last_name", ""))[:64],
            phone=phone,
            email=email,
            request_type=request_type,
            category_code=code,
            address=data.get("address_string", "")[:300],
            latitude=lat,
            longitude=lng,
            attachments=attachments,
            may_follow_up=False,
        )

    return parse


def open311_reprocess(inbound: Any) -> None:
    """Take a journaled request in again (the recovery pass, an administrator's retry)."""
    journal.journal_process(inbound=inbound, parse=parser_for(inbound.account))
