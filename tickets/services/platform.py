"""What a 12345 platform does to a ticket it dispatched: 催办, 督办, 撤回, 重新派单.

Each service locks the row, changes it, bumps the version and appends a TicketEvent (whose live
update goes out after commit, and whose hooks may write outbox rows), like ``workflow._run``;
urging and supervision also leave an in-app notice for the people handling the case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.errors import InvalidInput, TicketNotFound
from tickets.models import (
    Attachment,
    Category,
    Department,
    RequestType,
    StaffNotification,
    State,
    Ticket,
    Urgency,
)
from tickets.services.clocks import cycle_reset, sla_refresh
from tickets.services.events import event_append, iso
from tickets.services.intake import IncomingAttachment
from tickets.services.runner import _required, _run
from tickets.services.sla_events import recipient_ids

PLATFORM = "12345平台"
# Fields a re-dispatch may change; the department only while no department has taken the case.
REDISPATCH_FIELDS = (
    "title",
    "content",
    "address",
    "request_type",
    "urgency",
    "category_id",
    "department_id",
    "confidential",
    "resolve_due_at",
)
UNASSIGNED_STATES = (State.NEW, State.ACKNOWLEDGED)

Change = Callable[[Ticket, dt.datetime], dict[str, Any]]


def _platform_change(*, ticket_id: int, kind: str, change: Change, label: str) -> Ticket:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            raise TicketNotFound()
        now = timezone.now()
        payload = change(ticket, now)
        sla_refresh(ticket)
        ticket.version += 1
        ticket.save()
        event_append(
            ticket=ticket,
            kind=kind,
            label=label,
            from_state=ticket.state,
            to_state=ticket.state,
            payload=payload,
            at=now,
        )
    return ticket


def _notify(ticket: Ticket, *, kind: str, text: str, at: dt.datetime) -> None:
    StaffNotification.objects.bulk_create(
        [
            StaffNotification(
                recipient_id=user_id, ticket=ticket, kind=kind, text=text[:300], created_at=at
            )
            for user_id in recipient_ids([ticket]).get(ticket.pk, [])
        ]
    )


def ticket_urge(*, ticket_id: int, message: str, label: str = PLATFORM) -> Ticket:
    """催办: the platform presses for progress. An event, a live alert and a notice to the
    assignee and the department's supervisors; the state does not change."""
    message = (message or "").strip()[:2000]

    def change(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        text = f"{label}催办：工单 {ticket.case_no}" + (f"，{message}" if message else "")
        _notify(ticket, kind="urge", text=text, at=now)
        return {"message": message, "source": label}

    return _platform_change(ticket_id=ticket_id, kind="urge", change=change, label=label)


def ticket_supervise(*, ticket_id: int, message: str, label: str = PLATFORM) -> Ticket:
    """督办: the case is put under supervision (``supervised``), with an event and notices."""
    message = (message or "").strip()[:2000]

    def change(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        already = ticket.supervised
        ticket.supervised = True
        text = f"{label}督办：工单 {ticket.case_no}" + (f"，{message}" if message else "")
        _notify(ticket, kind="supervise", text=text, at=now)
        return {"message": message, "source": label, "already_supervised": already}

    return _platform_change(ticket_id=ticket_id, kind="supervise", change=change, label=label)


def ticket_withdraw(
    *, actor: Any, ticket_id: int, reason: str, expected_version: int | None = None
) -> Ticket:
    """撤回: the platform takes an open case back; it ends as invalid and its clocks stop.
    Only the system (a platform push, ``actor=None``) and administrators may do this."""
    reason = _required(reason, "reason", "撤回原因")

    def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        ticket.withdraw()
        return {"reason": reason}

    return _run(
        ticket_id=ticket_id,
        actor=actor,
        action="withdraw",
        apply=apply,
        expected_version=expected_version,
    )


def _shown(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso(value)
    return value


def _check(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(REDISPATCH_FIELDS)
    if unknown:
        raise InvalidInput(f"重新派单不能修改：{'、'.join(sorted(unknown))}。", field="fields")
    if "request_type" in fields and fields["request_type"] not in RequestType.values:
        raise InvalidInput("诉求类型无效。", field="request_type")
    if "urgency" in fields and fields["urgency"] not in Urgency.values:
        raise InvalidInput("紧急程度无效。", field="urgency")
    if "content" in fields and not str(fields["content"] or "").strip():
        raise InvalidInput("诉求内容不能为空。", field="content")
    category_id = fields.get("category_id")
    if category_id is not None and not Category.objects.filter(pk=category_id).exists():
        raise InvalidInput("分类不存在。", field="category")
    department_id = fields.get("department_id")
    if department_id is not None and not Department.objects.filter(pk=department_id).exists():
        raise InvalidInput("部门不存在。", field="department")


def ticket_redispatch(
    *,
    ticket_id: int,
    version: int,
    fields: dict[str, Any],
    attachments: Sequence[IncomingAttachment] = (),
    extra: dict[str, Any] | None = None,
    label: str = PLATFORM,
) -> Ticket:
    """重新派单: the platform sends a new version of the same work order. The same ticket
    takes the new values; the event lists each change (before and after). A new deadline
    from the platform is authoritative and starts a new warning cycle. A department that has
    already taken the case keeps it: the platform's unit is recorded for the dispatcher."""
    _check(fields)

    def change(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if value is None and name in ("category_id", "department_id", "resolve_due_at"):
                continue  # the platform not saying is not the platform clearing it
            before = getattr(ticket, name)
            if before == value:
                continue
            if name == "department_id" and ticket.state not in UNASSIGNED_STATES:
                changes["department_requested"] = {"before": before, "after": value}
                continue
            setattr(ticket, name, value)
            changes[name] = {"before": _shown(before), "after": _shown(value)}
        if "resolve_due_at" in changes:
            ticket.calendar_confirmed = True
            cycle_reset(ticket)
        known = set(ticket.attachments.values_list("source_url", flat=True))
        added = Attachment.objects.bulk_create(
            [
                Attachment(ticket=ticket, name=item.name[:200], source_url=item.url[:500])
                for item in attachments
                if item.url and item.url[:500] not in known
            ]
        )
        return {
            "version": version,
            "source": label,
            "changes": changes,
            "attachments": [item.pk for item in added if item.pk is not None],
            **(extra or {}),
        }

    return _platform_change(ticket_id=ticket_id, kind="redispatch", change=change, label=label)
