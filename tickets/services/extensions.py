"""延期: a handler asks for more working days before the deadline; a supervisor decides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Sum

from sla import services as sla
from tickets.errors import InvalidInput
from tickets.models import ExtensionRequest, Ticket
from tickets.services.clocks import cycle_reset
from tickets.services.events import iso
from tickets.services.runner import _required, _run

EXTENDABLE_STATES = ("acknowledged", "assigned", "in_progress", "waiting_citizen")


def _days_used(ticket: Ticket) -> int:
    used = ticket.extensions.filter(
        status__in=[ExtensionRequest.Status.APPROVED, ExtensionRequest.Status.PENDING]
    ).aggregate(total=Sum("days"))["total"]
    return int(used or 0)


def ticket_extension_request(
    *, actor: Any, ticket_id: int, days: int, reason: str, expected_version: int | None = None
) -> ExtensionRequest:
    """Ask for ``days`` more working days (at most 10 in total per ticket by default)."""
    reason = _required(reason, "reason", "延期理由")
    limit = settings.MINSHENG["MAX_EXTENSION_WORKING_DAYS"]
    if not isinstance(days, int) or days < 1:
        raise InvalidInput("延期天数必须是正整数（工作日）。", field="days")
    created: dict[str, ExtensionRequest] = {}

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        if ticket.state not in EXTENDABLE_STATES:
            raise InvalidInput("只有办理中的工单可以申请延期。", field="days")
        if now > ticket.resolve_due_at:
            raise InvalidInput("办结时限已过，不能再申请延期。", field="days")
        if ticket.extensions.filter(status=ExtensionRequest.Status.PENDING).exists():
            raise InvalidInput("该工单已有待审批的延期申请。", field="days")
        used = _days_used(ticket)
        if used + days > limit:
            raise InvalidInput(
                f"延期合计不能超过 {limit} 个工作日（已用 {used} 个）。", field="days"
            )
        created["request"] = ExtensionRequest.objects.create(
            ticket=ticket,
            days=days,
            reason=reason,
            requested_by=actor,
            requested_at=now,
            due_before=ticket.resolve_due_at,
        )
        return {
            "days": days,
            "reason": reason,
            "request_id": created["request"].pk,
            "resolve_due_at": iso(ticket.resolve_due_at),
        }

    _run(
        ticket_id=ticket_id,
        actor=actor,
        action="request_extension",
        apply=apply,
        expected_version=expected_version,
        transition=False,
    )
    return created["request"]


def ticket_extension_decide(
    *, actor: Any, request_id: int, approve: bool, note: str = ""
) -> ExtensionRequest:
    """Approve (the deadline moves ``days`` working days later, a new SLA cycle starts) or
    reject (nothing moves). Both are events with before and after."""
    request = ExtensionRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise InvalidInput("延期申请不存在。", field="request")
    if not approve:
        note = _required(note, "note", "驳回理由")
    decided: dict[str, ExtensionRequest] = {}

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        pending = ExtensionRequest.objects.select_for_update().get(pk=request_id)
        if approve and ticket.state not in EXTENDABLE_STATES:
            raise InvalidInput("工单已答复或已结束，不能再批准延期。", field="request")
        if pending.status != ExtensionRequest.Status.PENDING:
            raise InvalidInput(
                f"该延期申请已{pending.get_status_display()}，不能重复审批。", field="request"
            )
        before = ticket.resolve_due_at
        pending.status = (
            ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REJECTED
        )
        pending.decided_by, pending.decided_at, pending.decision_note = actor, now, note
        if approve:
            due = sla.deadline_shift(deadline=before, days=pending.days)
            ticket.resolve_due_at = due.at
            ticket.calendar_confirmed = ticket.calendar_confirmed and due.confirmed
            if ticket.resolve_basis:
                ticket.resolve_basis = {
                    **ticket.resolve_basis,
                    "extra_days": int(ticket.resolve_basis.get("extra_days", 0)) + pending.days,
                }
            cycle_reset(ticket)
        pending.due_after = ticket.resolve_due_at
        pending.save()
        decided["request"] = pending
        return {
            "request_id": pending.pk,
            "approved": approve,
            "days": pending.days,
            "note": note,
            "resolve_due_before": iso(before),
            "resolve_due_after": iso(ticket.resolve_due_at),
        }

    _run(
        ticket_id=request.ticket_id,
        actor=actor,
        action="decide_extension",
        apply=apply,
        transition=False,
        event_kind="extension_approved" if approve else "extension_rejected",
    )
    return decided["request"]
