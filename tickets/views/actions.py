"""Which actions a user may take on a ticket now, and the one service each form calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from tickets import services
from tickets.api.serializers import actions_allowed
from tickets.hotspots.services import ticket_link_lead, ticket_unlink_lead
from tickets.models import OPEN_STATES, CaseLink, ExtensionRequest, Ticket
from tickets.permissions import ACTIONS, role_may
from tickets.selectors import user_role
from tickets.services.extensions import (
    EXTENDABLE_STATES,
    ticket_extension_decide,
    ticket_extension_request,
)

# The order of the buttons on the ticket page (the most likely next step first).
ACTION_ORDER = [
    "acknowledge",
    "assign",
    "accept",
    "reply",
    "request_info",
    "resume",
    "return_to_dispatch",
    "transfer",
    "request_extension",
    "decide_extension",
    "merge_into",
    "link_lead",
    "unlink_lead",
    "mark_invalid",
    "reopen",
    "close",
    "classify",
    "note",
]
# Actions whose form is just a button (no fields to fill in).
BUTTON_ONLY = {"acknowledge", "accept", "close", "unlink_lead"}
BUTTON_LABELS = {
    **ACTIONS,
    "request_info": "要求市民补充",
    "merge_into": "合并到其他工单",
    "link_lead": "关联到主案",
}


def pending_extension(ticket: Ticket) -> ExtensionRequest | None:
    return ticket.extensions.filter(status=ExtensionRequest.Status.PENDING).first()


def actions_for(*, ticket: Ticket, user: Any, pending: ExtensionRequest | None) -> list[str]:
    """The API's allowed actions (state machine, role, department), plus the steps that are
    not transitions: the extension (ask while the clock runs, decide while one is pending)
    and the lead-case link (an open ticket that is not itself a lead)."""
    allowed = set(actions_allowed(ticket=ticket, user=user))
    role = user_role(user)
    if role is not None and allowed and ticket.state in OPEN_STATES:
        linked = CaseLink.objects.filter(ticket=ticket).exists()
        if linked and role_may(role, "unlink_lead", own_department=True):
            allowed.add("unlink_lead")
        elif (
            not linked
            and role_may(role, "link_lead", own_department=True)
            and not CaseLink.objects.filter(lead=ticket).exists()
        ):
            allowed.add("link_lead")
    if role is not None and allowed:
        if (
            role_may(role, "request_extension", own_department=True)
            and ticket.state in EXTENDABLE_STATES
            and pending is None
            and timezone.now() <= ticket.resolve_due_at
        ):
            allowed.add("request_extension")
        if pending is not None and role_may(role, "decide_extension", own_department=True):
            allowed.add("decide_extension")
    return [action for action in ACTION_ORDER if action in allowed]


Perform = Callable[[Any, Ticket, dict[str, Any]], Any]


def _pk(value: Any) -> int | None:
    return value.pk if value is not None else None


PERFORM: dict[str, Perform] = {
    "acknowledge": lambda user, t, d: services.ticket_acknowledge(
        actor=user, ticket_id=t.pk, expected_version=d["expected_version"]
    ),
    "assign": lambda user, t, d: services.ticket_assign(
        actor=user,
        ticket_id=t.pk,
        department_id=_pk(d.get("department")),
        assignee_id=_pk(d.get("assignee")),
        expected_version=d["expected_version"],
    ),
    "accept": lambda user, t, d: services.ticket_accept(
        actor=user, ticket_id=t.pk, expected_version=d["expected_version"]
    ),
    "return_to_dispatch": lambda user, t, d: services.ticket_return(
        actor=user, ticket_id=t.pk, reason=d["reason"], expected_version=d["expected_version"]
    ),
    "transfer": lambda user, t, d: services.ticket_transfer(
        actor=user,
        ticket_id=t.pk,
        department_id=_pk(d.get("department")),
        reason=d["reason"],
        expected_version=d["expected_version"],
    ),
    "request_info": lambda user, t, d: services.ticket_request_info(
        actor=user, ticket_id=t.pk, question=d["question"], expected_version=d["expected_version"]
    ),
    "resume": lambda user, t, d: services.ticket_resume(
        actor=user, ticket_id=t.pk, note=d.get("note") or "", expected_version=d["expected_version"]
    ),
    "reply": lambda user, t, d: services.ticket_reply(
        actor=user, ticket_id=t.pk, content=d["content"], expected_version=d["expected_version"]
    ),
    "reopen": lambda user, t, d: services.ticket_reopen(
        actor=user, ticket_id=t.pk, reason=d["reason"], expected_version=d["expected_version"]
    ),
    "close": lambda user, t, d: services.ticket_close(
        actor=user, ticket_id=t.pk, expected_version=d["expected_version"]
    ),
    "merge_into": lambda user, t, d: services.ticket_merge(
        actor=user, ticket_id=t.pk, into_case_no=d["into"], expected_version=d["expected_version"]
    ),
    "link_lead": lambda user, t, d: ticket_link_lead(
        actor=user, ticket_id=t.pk, lead_case_no=d["lead"], expected_version=d["expected_version"]
    ),
    "unlink_lead": lambda user, t, d: ticket_unlink_lead(
        actor=user, ticket_id=t.pk, expected_version=d["expected_version"]
    ),
    "mark_invalid": lambda user, t, d: services.ticket_mark_invalid(
        actor=user, ticket_id=t.pk, reason=d["reason"], expected_version=d["expected_version"]
    ),
    "classify": lambda user, t, d: services.ticket_classify(
        actor=user,
        ticket_id=t.pk,
        request_type=d.get("request_type") or None,
        urgency=d.get("urgency") or None,
        category_id=_pk(d.get("category")),
        expected_version=d["expected_version"],
    ),
    "note": lambda user, t, d: services.ticket_add_note(actor=user, ticket_id=t.pk, text=d["text"]),
    "request_extension": lambda user, t, d: ticket_extension_request(
        actor=user,
        ticket_id=t.pk,
        days=d["days"],
        reason=d["reason"],
        expected_version=d["expected_version"],
    ),
    "decide_extension": lambda user, t, d: _decide(user, t, d),
}


def _decide(user: Any, ticket: Ticket, data: dict[str, Any]) -> Any:
    from tickets.errors import ConflictError, InvalidInput

    # The decision service has no version check: refuse a stale page here, before it runs.
    if data["expected_version"] != ticket.version:
        raise ConflictError(
            f"工单 {ticket.case_no} 已被他人修改，您的「审批延期」没有保存，请查看最新内容后再操作。"
        )
    if not ticket.extensions.filter(pk=data["request_id"]).exists():
        raise InvalidInput("延期申请不存在。", field="request_id")
    return ticket_extension_decide(
        actor=user,
        request_id=data["request_id"],
        approve=data["decision"] == "approve",
        note=data.get("note") or "",
    )


SUCCESS_MESSAGES = {
    "acknowledge": "已受理。",
    "assign": "已派单。",
    "accept": "已签收，工单进入办理。",
    "return_to_dispatch": "已退回派单员。",
    "transfer": "已转办。",
    "request_info": "已请市民补充材料，办结时限暂停计算。",
    "resume": "已恢复办理。",
    "reply": "答复已发送给市民。",
    "reopen": "已重办。",
    "close": "已办结。",
    "merge_into": "已合并。",
    "link_lead": "已关联到主案。",
    "unlink_lead": "已取消关联主案。",
    "mark_invalid": "已标记为无效。",
    "classify": "分类已修改。",
    "note": "备注已保存。",
    "request_extension": "延期申请已提交，等待审批。",
    "decide_extension": "延期审批已保存。",
}
