"""Appending to the timeline and scheduling what follows a change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets import live
from tickets.hooks import run_event_hooks
from tickets.models import Ticket, TicketEvent

SYSTEM = "系统"


def actor_label(actor: Any, fallback: str = SYSTEM) -> str:
    if actor is None:
        return fallback
    full_name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return full_name or actor.get_username()


def event_append(
    *,
    ticket: Ticket,
    kind: str,
    actor: Any = None,
    label: str = "",
    from_state: str = "",
    to_state: str = "",
    payload: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
    previous_department_id: int | None = None,
) -> TicketEvent:
    """Write one timeline event (stamped with the ticket as it now stands) and, after commit,
    push a live update for it (also to the department the ticket just left, when it moved)."""
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_label=label or actor_label(actor),
        from_state=from_state,
        to_state=to_state or ticket.state,
        payload=payload or {},
        created_at=at or timezone.now(),
        **after_stamps(ticket),
    )
    run_event_hooks(event)
    ticket_id, state, department_id = ticket.pk, ticket.state, ticket.department_id
    previous = department_id if previous_department_id is None else previous_department_id
    transaction.on_commit(
        lambda: live.ticket_changed(
            ticket_id=ticket_id,
            event_id=event.pk,
            kind=kind,
            state=state,
            department_id=department_id,
            previous_department_id=previous,
        )
    )
    return event


def after_stamps(ticket: Ticket) -> dict[str, Any]:
    """What every event records of the ticket as it stands after the change (the metrics
    for a past moment read them; see ``TicketEvent.after_*``)."""
    return {
        "after_department_id": ticket.department_id,
        "after_category_id": ticket.category_id,
        "after_request_type": ticket.request_type,
        "after_resolve_due_at": ticket.resolve_due_at,
    }


def iso(value: dt.datetime | None) -> str | None:
    """Timeline payloads show times in Asia/Shanghai, as people read them."""
    return timezone.localtime(value).isoformat() if value is not None else None
