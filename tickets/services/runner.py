"""The engine every ticket write runs through: ``_run`` locks the row, checks that the
actor may see and act on the ticket, checks the expected version (optimistic concurrency for
pages that show a ticket and post back later), checks that the transition is allowed from the
current state, applies it, refreshes the SLA schedule, bumps the version, saves, and appends a
TicketEvent whose live update is sent after commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from tickets.errors import ActionForbidden, InvalidInput, TicketNotFound, TransitionNotAllowed
from tickets.models import State, Ticket
from tickets.permissions import ACTIONS, role_may
from tickets.selectors import user_department_ids, user_role
from tickets.services.clocks import sla_refresh
from tickets.services.events import event_append

# What ``_run`` hands to each transition's body: the locked ticket and the moment of action.
Apply = Callable[[Ticket, dt.datetime], dict[str, Any] | None]


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _last_change(ticket: Ticket) -> str:
    # Notes and media downloads change nothing a conflicting user could have overwritten.
    quiet = ("note", "media_downloaded", "media_failed")
    event = ticket.events.exclude(kind__in=quiet).order_by("-created_at", "-id").first()
    if event is None:
        return ""
    when = timezone.localtime(event.created_at).strftime("%m-%d %H:%M")
    return f"（最近一次变更：{event.actor_label} 于 {when} {ACTIONS.get(event.kind, event.kind)}）"


def _check_actor(actor: Any, action: str, ticket: Ticket) -> None:
    """None is the system itself (channel intake, SLA sweep): it may do anything."""
    if actor is None:
        return
    role = user_role(actor)
    departments = user_department_ids(actor)
    visible = (
        departments is None
        or ticket.department_id in departments
        or (ticket.assignee_id is not None and ticket.assignee_id == actor.pk)
    )
    if role is None or not visible:
        raise TicketNotFound()
    if not role_may(role, action, own_department=True):
        raise ActionForbidden(f"您的角色不能对工单执行「{ACTIONS.get(action, action)}」。")


def _run(
    *,
    ticket_id: int,
    actor: Any,
    action: str,
    apply: Apply,
    expected_version: int | None = None,
    transition: bool = True,
    event_kind: str | None = None,
) -> Ticket:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            raise TicketNotFound()
        _check_actor(actor, action, ticket)
        label = ACTIONS.get(action, action)
        if expected_version is not None and ticket.version != expected_version:
            raise TransitionNotAllowed(
                f"工单 {ticket.case_no} 已被他人修改，当前状态为「{_state_label(ticket.state)}」"
                f"{_last_change(ticket)}。您的「{label}」没有保存，请查看最新内容后再操作。",
                action=action,
                state=ticket.state,
            )
        if transition and not can_proceed(getattr(ticket, action)):
            raise TransitionNotAllowed(
                f"工单 {ticket.case_no} 当前状态为「{_state_label(ticket.state)}」，"
                f"不能执行「{label}」{_last_change(ticket)}。",
                action=action,
                state=ticket.state,
            )
        from_state, from_department_id = ticket.state, ticket.department_id
        now = timezone.now()
        payload = apply(ticket, now) or {}
        sla_refresh(ticket)
        ticket.version += 1
        ticket.save()
        event_append(
            ticket=ticket,
            kind=event_kind or action,
            actor=actor,
            from_state=from_state,
            to_state=ticket.state,
            payload=payload,
            at=now,
            previous_department_id=from_department_id,
        )
    return ticket


def _required(value: str, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{what}。", field=field)
    return value
