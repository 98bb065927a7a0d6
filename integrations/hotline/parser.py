"""Reading a 12345 work-order push (pure: no database).

``order_parse`` checks every field the event needs and raises ``HotlineInvalid`` naming the
field and why, in Chinese; ``dispatch_message`` turns a dispatch into the channel-neutral
``IncomingMessage`` once the caller has resolved the platform's codes to ours."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from integrations.wire import WireError, json_load, text_problem
from tickets.models import CitizenIdentity, Feedback, RequestType, Urgency
from tickets.services.intake import IncomingAttachment, IncomingMessage

CHANNEL = "hotline"
CHINA = ZoneInfo("Asia/Shanghai")
EVENTS = {
    "dispatch": "派单",
    "urge": "催办",
    "supervise": "督办",
    "recall": "撤回",
    "feedback": "回访结果",
}
SATISFACTION = tuple(choice.value for choice in Feedback.Satisfaction)
ORDER_NO = re.compile(r"^[-A-Za-z0-9_.:/]{1,64}$")
MAX_TEXT = 20_000
MAX_ATTACHMENTS = 50


class HotlineInvalid(ValueError):
    """A push that cannot be taken: ``field`` is the offending key, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}：{message}")
        self.field = field
        self.message = f"{field}：{message}"


@dataclass(frozen=True)
class HotlineAttachment:
    name: str
    url: str


@dataclass
class HotlineOrder:
    """One push, checked: what every event carries plus the fields of its kind."""

    event: str
    order_no: str
    version: int
    accepted_at: dt.datetime | None = None
    caller_name: str = ""
    caller_phone: str = ""
    confidential: bool = False
    request_type: str = RequestType.HELP
    category_code: str = ""
    title: str = ""
    content: str = ""
    address: str = ""
    district: str = ""
    urgency: str = Urgency.NORMAL
    unit_code: str = ""
    due_at: dt.datetime | None = None
    attachments: list[HotlineAttachment] = field(default_factory=list)
    message: str = ""
    satisfaction: str = ""
    resolved: bool | None = None
    comment: str = ""

    @property
    def dedupe_key(self) -> str:
        return f"{self.order_no}:{self.event}:{self.version}"


def datetime_parse(value: Any, name: str) -> dt.datetime:
    """``yyyy-MM-dd HH:mm:ss`` (Asia/Shanghai) or ISO 8601, with or without an offset."""
    if not isinstance(value, str) or not value.strip():
        raise HotlineInvalid(name, "应为时间字符串，如 2026-05-12 09:41:27")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise HotlineInvalid(name, f"时间格式无效「{value[:40]}」，应为 yyyy-MM-dd HH:mm:ss")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    # Year 1 with +14:00 is before the first moment a datetime can hold in UTC; year 9999
    # overflows the deadline arithmetic: a work order is of this century.
    if not 2000 <= parsed.year <= 2100:
        raise HotlineInvalid(name, f"时间「{value[:40]}」超出范围（2000–2100 年）")
    return parsed


def _text(data: dict[str, Any], name: str, *, limit: int = 500, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if isinstance(value, int) and not isinstance(value, bool) and name == "caller_phone":
        value = str(value)
    if not isinstance(value, str):
        raise HotlineInvalid(name, "应为字符串")
    value = value.strip()
    if required and not value:
        raise HotlineInvalid(name, "不能为空")
    if len(value) > limit:
        raise HotlineInvalid(name, f"长度不能超过 {limit} 个字符")
    return value


def _choice(data: dict[str, Any], name: str, what: str, choices: tuple[str, ...]) -> str:
    value = data.get(name)
    if value is None or value == "":
        return choices[0] if name != "satisfaction" else ""
    if not isinstance(value, str) or value not in choices:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        raise HotlineInvalid(name, f"{what}「{shown[:40]}」无效，应为 {'、'.join(choices)} 之一")
    return value


def _flag(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise HotlineInvalid(name, "应为 true 或 false")
    return value


def _version(data: dict[str, Any]) -> int:
    value = data.get("version")
    if value is None:
        raise HotlineInvalid("version", "缺少版本号")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise HotlineInvalid("version", "版本号应为正整数")
    return value


def _attachments(data: dict[str, Any]) -> list[HotlineAttachment]:
    items = data.get("attachments")
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_ATTACHMENTS:
        raise HotlineInvalid("attachments", f"应为最多 {MAX_ATTACHMENTS} 个 {{name, url}} 的列表")
    out = []
    for index, item in enumerate(items):
        where = f"attachments[{index}]"
        if not isinstance(item, dict):
            raise HotlineInvalid(where, "应为 {name, url} 对象")
        url = item.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://\S+$", url) or len(url) > 500:
            raise HotlineInvalid(f"{where}.url", "应为 http(s):// 开头、不超过 500 字符的地址")
        name = item.get("name") or ""
        if not isinstance(name, str):
            raise HotlineInvalid(f"{where}.name", "应为字符串")
        out.append(HotlineAttachment(name=name.strip()[:200], url=url))
    return out


def _dispatch_fields(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("accepted_at") is None:
        raise HotlineInvalid("accepted_at", "缺少受理时间")
    due_at = data.get("due_at")
    return {
        "accepted_at": datetime_parse(data.get("accepted_at"), "accepted_at"),
        "caller_name": _text(data, "caller_name", limit=64),
        "caller_phone": _text(data, "caller_phone", limit=32),
        "confidential": bool(_flag(data, "confidential")),
        "request_type": _choice(data, "request_type", "诉求类型", _ordered(RequestType.values)),
        "category_code": _text(data, "category_code", limit=64),
        "title": _text(data, "title", limit=200),
        "content": _text(data, "content", limit=MAX_TEXT, required=True),
        "address": _text(data, "address", limit=300),
        "district": _text(data, "district", limit=64),
        "urgency": _choice(data, "urgency", "紧急程度", (Urgency.NORMAL, Urgency.URGENT)),
        "unit_code": _text(data, "unit_code", limit=64),
        "due_at": datetime_parse(due_at, "due_at") if due_at not in (None, "") else None,
        "attachments": _attachments(data),
    }


def _ordered(values: list[str]) -> tuple[str, ...]:
    # "help" first: it is what a push without a request type means.
    return tuple(sorted(values, key=lambda value: value != RequestType.HELP))


def _feedback_fields(data: dict[str, Any]) -> dict[str, Any]:
    feedback = data.get("feedback")
    if not isinstance(feedback, dict):
        raise HotlineInvalid("feedback", "缺少回访结果对象 {satisfaction, resolved, comment}")
    satisfaction = _choice(feedback, "satisfaction", "满意度", SATISFACTION)
    if not satisfaction:
        raise HotlineInvalid("feedback.satisfaction", "缺少满意度")
    try:
        resolved = _flag(feedback, "resolved")
        comment = _text(feedback, "comment", limit=2000)
    except HotlineInvalid as exc:
        raise HotlineInvalid(f"feedback.{exc.field}", exc.message.split("：", 1)[1])
    return {"satisfaction": satisfaction, "resolved": resolved, "comment": comment}


def order_parse(raw: bytes) -> HotlineOrder:
    """Check a push body; raises ``HotlineInvalid`` for the first field that is wrong (a
    body nested too deep, or a text PostgreSQL cannot store, is refused before anything)."""
    try:
        data = json_load(raw)
    except WireError as exc:
        raise HotlineInvalid(exc.field, f"请求体应为 UTF-8 编码的 JSON 对象：{exc.message}")
    if not isinstance(data, dict):
        raise HotlineInvalid("body", "请求体应为 JSON 对象")
    problem = text_problem(data)
    if problem is not None:
        raise HotlineInvalid(*problem)
    event = data.get("event")
    if not isinstance(event, str) or event not in EVENTS:
        shown = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        raise HotlineInvalid(
            "event", f"不支持的事件类型「{shown[:40]}」，应为 {'、'.join(EVENTS)} 之一"
        )
    order_no = data.get("order_no")
    if order_no is None or order_no == "":
        raise HotlineInvalid("order_no", "缺少工单编号")
    if not isinstance(order_no, str) or not ORDER_NO.match(order_no):
        raise HotlineInvalid("order_no", "工单编号应为不超过 64 位的字母、数字或 -_.:/")
    order = HotlineOrder(event=event, order_no=order_no, version=_version(data))
    if event == "dispatch":
        for name, value in _dispatch_fields(data).items():
            setattr(order, name, value)
    else:
        order.message = _text(data, "message", limit=2000)
    if event == "feedback":
        for name, value in _feedback_fields(data).items():
            setattr(order, name, value)
    return order


def caller_id(order: HotlineOrder) -> str:
    """Who the caller is to us: the phone, unless it is masked or confidential (then the order
    itself, so that two masked callers are never taken for one person)."""
    phone = order.caller_phone
    if phone and not order.confidential and re.fullmatch(r"\+?[0-9-]{5,32}", phone):
        return phone
    return f"order:{order.order_no}"


def full_address(order: HotlineOrder) -> str:
    if order.district and not order.address.startswith(order.district):
        return f"{order.district}{order.address}"[:300]
    return order.address[:300]


def dispatch_message(
    order: HotlineOrder, *, account: str, category_code: str = "", department_code: str = ""
) -> IncomingMessage:
    """A dispatch as a new case: already acknowledged (the platform's acknowledgement clock),
    never a follow-up of another case, our codes already resolved from the account's maps."""
    return IncomingMessage(
        channel=CHANNEL,
        account=account,
        sender_kind=CitizenIdentity.Kind.HOTLINE_CALLER,
        sender_id=caller_id(order),
        sender_name=order.caller_name,
        phone="" if "*" in order.caller_phone else order.caller_phone,
        title=order.title,
        text=order.content,
        request_type=order.request_type,
        urgency=order.urgency,
        category_code=category_code,
        department_code=department_code,
        address=full_address(order),
        attachments=[IncomingAttachment(name=a.name, url=a.url) for a in order.attachments],
        received_at=order.accepted_at,
        resolve_due_at=order.due_at,
        confidential=order.confidential,
        external_ref=order.order_no,
        acknowledged=True,
        may_follow_up=False,
    )
