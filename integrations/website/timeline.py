"""What a citizen may see of their case's timeline: progress in plain Chinese.

Never shown: internal notes, staff names, SLA warnings and reminders, classification changes,
extension requests that were not approved, delivery problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tickets.models import Ticket, TicketEvent


@dataclass(frozen=True)
class CitizenStep:
    at: dt.datetime
    title: str
    detail: str = ""


def _date(value: Any) -> str:
    if not value:
        return ""
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{timezone.localtime(parsed):%Y-%m-%d}"


def _department(payload: dict[str, Any]) -> str:
    name = payload.get("department") or ""
    return f"（{name}）" if name else ""


Describe = Callable[[dict[str, Any]], tuple[str, str]]
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}

VISIBLE: dict[str, Describe] = {
    "created": lambda p: ("诉求已提交", ""),
    "acknowledge": lambda p: ("已受理", "您的诉求已登记受理。"),
    "assign": lambda p: ("已派单", f"已交承办部门办理{_department(p)}。"),
    "accept": lambda p: ("办理中", "承办部门已签收，正在办理。"),
    "transfer": lambda p: ("已转办", f"已转交其他部门办理{_department(p)}。"),
    "request_info": lambda p: ("需要您补充材料", p.get("question", "")),
    "citizen_message": lambda p: ("您补充了材料", p.get("text", "")),
    "resume": lambda p: ("恢复办理", ""),
    "extension_approved": lambda p: (
        "办理期限已延长",
        f"新的办结期限：{_date(p.get('resolve_due_after'))}",
    ),
    "reply": lambda p: ("已答复", "答复内容见下方。"),
    "feedback": lambda p: (
        "您已评价",
        SATISFACTION.get(p.get("satisfaction", ""), "")
        + (f"：{p['comment']}" if p.get("comment") else ""),
    ),
    "reopen": lambda p: ("重新办理", "根据您的评价，诉求已重新办理。"),
    "close": lambda p: ("已办结", ""),
    "merge_into": lambda p: ("已合并办理", "您的诉求与其他相同诉求合并办理。"),
    "mark_invalid": lambda p: ("不予受理", "经核实，该诉求不属于受理范围。"),
}


def citizen_timeline(ticket: Ticket) -> list[CitizenStep]:
    events = TicketEvent.objects.filter(ticket=ticket, kind__in=list(VISIBLE)).only(
        "kind", "payload", "created_at"
    )
    steps = []
    for event in events:
        title, detail = VISIBLE[event.kind](event.payload or {})
        steps.append(CitizenStep(at=event.created_at, title=title, detail=detail))
    return steps


def open_question(ticket: Ticket) -> str:
    """The latest question the handler asked (shown above the add-information form)."""
    event = (
        TicketEvent.objects.filter(ticket=ticket, kind="request_info")
        .order_by("-created_at", "-id")
        .first()
    )
    return str(event.payload.get("question", "")) if event is not None else ""
