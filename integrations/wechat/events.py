"""WeChat events (subscribe, unsubscribe, menu clicks, location reports): no ticket, an answer.

Each handler updates the citizen's WeChat identity where the event says something about it and
returns the reason kept in the journal and the response the passive reply is built from."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from wechatpy.messages import BaseMessage

from tickets.models import OPEN_STATES, CitizenIdentity, State, Ticket

logger = logging.getLogger(__name__)

MY_CASES = "MY_CASES"
MY_CASES_SHOWN = 10
WELCOME = (
    "欢迎关注！直接发送文字（可附图片、位置）即可反映问题，我们会回复诉求编号和查询链接。"
    "发送“进度 编号”或点击菜单“我的诉求”可随时查询办理进度。"
)


def _identity(account: str, openid: str) -> QuerySet[CitizenIdentity]:
    return CitizenIdentity.objects.filter(
        kind=CitizenIdentity.Kind.WECHAT_OPENID, account=account, value=openid
    )


def open_cases_for(*, account: str, openid: str) -> list[Ticket]:
    """The citizen's cases still being handled, newest first."""
    return list(
        Ticket.objects.filter(
            citizen__identities__kind=CitizenIdentity.Kind.WECHAT_OPENID,
            citizen__identities__account=account,
            citizen__identities__value=openid,
            state__in=OPEN_STATES,
        )
        .order_by("-received_at", "-id")
        .distinct()[: MY_CASES_SHOWN + 1]
    )


def my_cases_text(tickets: list[Ticket]) -> str:
    if not tickets:
        return "您目前没有正在办理的诉求。直接发送文字即可反映问题。"
    shown = tickets[:MY_CASES_SHOWN]
    lines = [f"您有以下诉求正在办理{'（仅显示最近 10 件）' if len(tickets) > len(shown) else ''}："]
    lines += [f"{ticket.case_no} {State(ticket.state).label}" for ticket in shown]
    lines.append("发送“进度 编号”可查看预计办结时间。")
    return "\n".join(lines)


def event_handle(*, account: str, message: BaseMessage) -> tuple[str, dict[str, Any]]:
    """Act on one event; returns (journal reason, response with the reply text)."""
    data: dict[str, Any] = message._data
    openid = data["FromUserName"]
    event = str(data.get("Event") or "").lower()
    now = timezone.now()
    reply = ""
    if event in ("subscribe", "subscribe_scan"):
        _identity(account, openid).update(subscribed=True, last_seen_at=now)
        reply = WELCOME
    elif event == "unsubscribe":
        # No more outbound messages to this citizen in this account (they may come back).
        _identity(account, openid).update(subscribed=False)
    elif event == "location":
        location = {
            "latitude": str(data.get("Latitude", "")),
            "longitude": str(data.get("Longitude", "")),
            "precision": str(data.get("Precision", "")),
            "at": now.isoformat(),
        }
        _identity(account, openid).update(last_location=location, last_seen_at=now)
    elif event == "click" and data.get("EventKey") == MY_CASES:
        _identity(account, openid).update(last_seen_at=now)
        reply = my_cases_text(open_cases_for(account=account, openid=openid))
    elif event in ("click", "view", "scan"):
        _identity(account, openid).update(last_seen_at=now)
    elif event == "templatesendjobfinish":
        logger.info("wechat template delivery %s: %s", data.get("MsgID"), data.get("Status"))
    key = data.get("EventKey") if isinstance(data.get("EventKey"), str) else ""
    reason = f"事件 {data.get('Event', '')}" + (f" {key[:100]}" if key else "")
    return reason, {"action": "event", "event": event, "reply": reply}
