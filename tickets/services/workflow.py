"""Every state change of a ticket: one function per transition, each running its body
through ``tickets.services.runner._run`` (row lock, permission, version and state checks,
SLA refresh, the timeline event)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from sla import clock
from sla import services as sla
from tickets.errors import InvalidInput, TransitionNotAllowed
from tickets.models import Category, Department, Reply, RequestType, Role, State, Ticket, Urgency
from tickets.selectors import user_role
from tickets.services.clocks import basis_deadline, basis_new, cycle_reset
from tickets.services.events import actor_label, iso
from tickets.services.runner import _check_actor, _required, _run, _state_label


def _department(department_id: int | None, field: str = "department") -> Department:
    if department_id is None:
        raise InvalidInput("请选择一个有效的部门。", field=field)
    department = Department.objects.filter(pk=department_id, active=True).first()
    if department is None:
        raise InvalidInput("请选择一个有效的部门。", field=field)
    return department


def _handler_in(department: Department, assignee_id: int | None) -> Any:
    if assignee_id is None:
        return None
    user = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
    profile = getattr(user, "staff_profile", None)
    if (
        user is None
        or profile is None
        or profile.role not in (Role.HANDLER, Role.SUPERVISOR)
        or profile.department_id not in department.subtree_ids()
    ):
        raise InvalidInput("承办人必须是该部门的承办人或负责人。", field="assignee")
    return user


def ticket_acknowledge(
    *, actor: Any, ticket_id: int, expected_version: int | None = None
) -> Ticket:
    """受理: stops the acknowledgement clock and stamps whether it was on time."""

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        ticket.acknowledge(at=now)
        if ticket.ack_on_time is None:
            ticket.ack_on_time = now <= ticket.ack_due_at
        return {"ack_on_time": ticket.ack_on_time}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="acknowledge",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_assign(
    *,
    actor: Any,
    ticket_id: int,
    department_id: int | None = None,
    assignee_id: int | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """派单: to a department (default: the category's), optionally to one handler in it."""

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        target_id = department_id
        if target_id is None and ticket.category is not None:
            target_id = ticket.category.default_department_id
        department = _department(target_id)
        assignee = _handler_in(department, assignee_id)
        ticket.assign(department=department, assignee=assignee)
        return {
            "department": department.name,
            "department_id": department.pk,
            "assignee": actor_label(assignee, "") if assignee else "",
        }

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="assign",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_accept(*, actor: Any, ticket_id: int, expected_version: int | None = None) -> Ticket:
    """签收: the department takes the case; a handler accepting it becomes its assignee."""

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        assignee = ticket.assignee
        if actor is not None and user_role(actor) in (Role.HANDLER, Role.SUPERVISOR):
            assignee = assignee or actor
        ticket.accept(assignee=assignee)
        return {"assignee": actor_label(assignee, "") if assignee else ""}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="accept",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_return(
    *, actor: Any, ticket_id: int, reason: str, expected_version: int | None = None
) -> Ticket:
    """退单: back to dispatch with a reason; the deadline is kept."""
    reason = _required(reason, "reason", "退单理由")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        department = ticket.department.name if ticket.department else ""
        ticket.return_to_dispatch()
        return {"reason": reason, "department": department}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="return_to_dispatch",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_transfer(
    *,
    actor: Any,
    ticket_id: int,
    department_id: int | None,
    reason: str,
    expected_version: int | None = None,
) -> Ticket:
    """转办: to another department; the deadline is kept."""
    reason = _required(reason, "reason", "转办理由")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        department = _department(department_id)
        if department.pk == ticket.department_id:
            raise InvalidInput("转办的目标部门不能是当前承办部门。", field="department")
        before = ticket.department.name if ticket.department else ""
        ticket.transfer(department=department)
        return {
            "reason": reason,
            "from_department": before,
            "department": department.name,
            "department_id": department.pk,
        }

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="transfer",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_request_info(
    *, actor: Any, ticket_id: int, question: str, expected_version: int | None = None
) -> Ticket:
    """要求补充: asks the citizen for more; the resolution clock pauses."""
    question = _required(question, "question", "需要市民补充的内容")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        ticket.request_info(at=now)
        return {"question": question}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="request_info",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_resume(
    *, actor: Any, ticket_id: int, note: str = "", expected_version: int | None = None
) -> Ticket:
    """恢复办理: the deadline moves by the working days lost while paused."""

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        paused_at = ticket.paused_at or now
        before = ticket.resolve_due_at
        due, lost = sla.pause_apply(deadline=before, paused_at=paused_at, resumed_at=now)
        ticket.resume()
        ticket.resolve_due_at = due.at
        ticket.calendar_confirmed = ticket.calendar_confirmed and due.confirmed
        if ticket.resolve_basis and lost:
            extra = int(ticket.resolve_basis.get("extra_days", 0)) + lost
            ticket.resolve_basis = {**ticket.resolve_basis, "extra_days": extra}
        return {
            "note": note,
            "paused_at": iso(paused_at),
            "working_days_lost": lost,
            "resolve_due_before": iso(before),
            "resolve_due_after": iso(due.at),
        }

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="resume",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_reply(
    *, actor: Any, ticket_id: int, content: str, expected_version: int | None = None
) -> Ticket:
    """答复: sends the outcome; the first reply stamps ``resolved_on_time`` for good."""
    content = _required(content, "content", "答复内容")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        first = ticket.first_replied_at is None
        ticket.reply(at=now)
        on_time = now <= ticket.resolve_due_at
        if first and ticket.resolved_on_time is None:
            ticket.resolved_on_time = on_time
        reply = Reply.objects.create(
            ticket=ticket,
            author=actor,
            department=ticket.department,
            content=content,
            created_at=now,
        )
        return {
            "reply_id": reply.pk,
            "on_time": on_time,
            "first": first,
            "cycle": ticket.reopen_count,
        }

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="reply",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_reopen(
    *, actor: Any, ticket_id: int, reason: str, expected_version: int | None = None
) -> Ticket:
    """重办: after unsatisfied feedback; a new cycle with its own deadline."""
    reason = _required(reason, "reason", "重办理由")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        before = ticket.resolve_due_at
        due, policy = sla.redo_deadline_and_policy(reopened_at=now, category_id=ticket.category_id)
        ticket.reopen()
        ticket.resolve_due_at = due.at
        ticket.resolve_unit = policy.unit
        ticket.calendar_confirmed = due.confirmed
        ticket.resolve_basis = basis_new(start=now, policy=policy)
        cycle_reset(ticket)
        return {
            "reason": reason,
            "cycle": ticket.reopen_count,
            "resolve_due_before": iso(before),
            "resolve_due_after": iso(due.at),
        }

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="reopen",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_close(*, actor: Any, ticket_id: int, expected_version: int | None = None) -> Ticket:
    """办结: after feedback, or when no feedback came in time."""

    def apply(ticket: Ticket, now: dt.datetime) -> None:
        ticket.close(at=now)

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="close",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_merge(
    *, actor: Any, ticket_id: int, into_case_no: str, expected_version: int | None = None
) -> Ticket:
    """合并: a duplicate joins another open case."""

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        target = Ticket.objects.filter(case_no=(into_case_no or "").strip()).first()
        if target is None or target.pk == ticket.pk:
            raise InvalidInput("请填写另一件工单的编号。", field="into")
        if target.state in (State.MERGED, State.INVALID):
            raise InvalidInput(
                f"工单 {target.case_no} 状态为「{_state_label(target.state)}」，不能作为合并目标。",
                field="into",
            )
        if actor is not None:
            _check_actor(actor, "merge_into", target)
        ticket.merge_into(target=target)
        return {"into": target.case_no, "into_id": target.pk}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="merge_into",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_mark_invalid(
    *, actor: Any, ticket_id: int, reason: str, expected_version: int | None = None
) -> Ticket:
    """无效: spam or not a request; a reason is required."""
    reason = _required(reason, "reason", "无效原因")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        ticket.mark_invalid()
        return {"reason": reason}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="mark_invalid",
        apply=apply,
        expected_version=expected_version,
    )


def ticket_classify(
    *,
    actor: Any,
    ticket_id: int,
    request_type: str | None = None,
    urgency: str | None = None,
    category_id: int | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """修改分类: request type, urgency and category; before the first reply the resolution
    deadline is recomputed from ``received_at`` (the event keeps before and after)."""
    if request_type is not None and request_type not in RequestType.values:
        raise InvalidInput("诉求类型无效。", field="request_type")
    if urgency is not None and urgency not in Urgency.values:
        raise InvalidInput("紧急程度无效。", field="urgency")
    if category_id is not None and not Category.objects.filter(pk=category_id).exists():
        raise InvalidInput("分类不存在。", field="category")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        if ticket.state not in (State.NEW, State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS):
            raise TransitionNotAllowed(
                f"工单 {ticket.case_no} 当前状态为「{_state_label(ticket.state)}」，不能修改分类。",
                action="classify",
                state=ticket.state,
            )
        before = {
            "request_type": ticket.request_type,
            "urgency": ticket.urgency,
            "category_id": ticket.category_id,
            "resolve_due_at": iso(ticket.resolve_due_at),
        }
        ticket.request_type = request_type or ticket.request_type
        ticket.urgency = urgency or ticket.urgency
        if category_id is not None:
            ticket.category_id = category_id
        platform_deadline = "platform_due" in (ticket.resolve_basis or {})
        if ticket.first_replied_at is None and ticket.reopen_count == 0 and not platform_deadline:
            # The new policy from the receipt, plus the working days pauses and approved
            # extensions have already added (a 12345 platform's deadline is never recomputed).
            policy = sla.policy_select(
                request_type=ticket.request_type,
                urgency=ticket.urgency,
                category_id=ticket.category_id,
            )
            basis = basis_new(start=ticket.received_at, policy=policy)
            basis["extra_days"] = int((ticket.resolve_basis or {}).get("extra_days", 0))
            calendar = sla.calendar_load(start=clock.local_date(ticket.received_at))
            due = basis_deadline(basis, calendar)
            if due.at > ticket.resolve_due_at:
                cycle_reset(ticket)  # a later deadline: its warning is yet to come
            ticket.resolve_due_at = due.at
            ticket.resolve_unit = policy.unit
            ticket.calendar_confirmed = due.confirmed
            ticket.resolve_basis = basis
        after = {
            "request_type": ticket.request_type,
            "urgency": ticket.urgency,
            "category_id": ticket.category_id,
            "resolve_due_at": iso(ticket.resolve_due_at),
        }
        return {"before": before, "after": after}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="classify",
        apply=apply,
        expected_version=expected_version,
        transition=False,
    )


def ticket_add_note(*, actor: Any, ticket_id: int, text: str) -> Ticket:
    """内部备注: staff-only text on the timeline; the state does not change."""
    text = _required(text, "text", "备注内容")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        return {"text": text}

    return _run(ticket_id=ticket_id, actor=actor, action="note", apply=apply, transition=False)


TRANSITION_SERVICES: dict[str, Callable[..., Ticket]] = {
    "acknowledge": ticket_acknowledge,
    "assign": ticket_assign,
    "accept": ticket_accept,
    "return_to_dispatch": ticket_return,
    "transfer": ticket_transfer,
    "request_info": ticket_request_info,
    "resume": ticket_resume,
    "reply": ticket_reply,
    "reopen": ticket_reopen,
    "close": ticket_close,
    "merge_into": ticket_merge,
    "mark_invalid": ticket_mark_invalid,
}
