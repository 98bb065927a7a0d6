"""What the sweep writes for one due ticket: an event, stamps, 督办, notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from sla import schedule
from tickets.models import Role, StaffNotification, Ticket
from tickets.services.clocks import sla_refresh
from tickets.services.events import event_append

CLOCK_LABELS = {"ack": "受理", "resolve": "办结"}
EVENT_KINDS = {
    schedule.ACK_WARNING: ("sla_warning", "ack", "受理即将超时"),
    schedule.ACK_BREACH: ("sla_breach", "ack", "受理已超时"),
    schedule.RESOLVE_WARNING: ("sla_warning", "resolve", "办结时限今日到期"),
    schedule.RESOLVE_BREACH: ("sla_breach", "resolve", "办结已超时，已列入督办"),
    schedule.REMINDER: ("sla_reminder", "", "催办：超时工单仍未办结"),
}


def _recipients(ticket: Ticket) -> list[Any]:
    """The assignee and the supervisors of the ticket's department (dispatchers for new ones)."""
    users = get_user_model().objects.filter(is_active=True)
    if ticket.department_id is None:
        query = Q(staff_profile__role=Role.DISPATCHER)
    else:
        query = Q(
            staff_profile__role=Role.SUPERVISOR, staff_profile__department_id=ticket.department_id
        )
    if ticket.assignee_id is not None:
        query |= Q(pk=ticket.assignee_id)
    return list(users.filter(query).distinct())


def sla_event_handle(*, ticket: Ticket, now: dt.datetime) -> str:
    """Handle the due SLA event of a locked ticket; returns its kind ('' if it was stale)."""
    kind = ticket.sla_next_kind
    due_at = ticket.sla_next_at
    sla_refresh(ticket)  # re-derive: a stale row (clock changed meanwhile) only gets fixed
    if (
        ticket.sla_next_kind != kind
        or ticket.sla_next_at != due_at
        or due_at is None
        or due_at > now
    ):
        ticket.save(update_fields=["sla_next_at", "sla_next_kind"])
        return ""
    event_kind, which, text = EVENT_KINDS[kind]
    if kind == schedule.REMINDER:
        which = "ack" if ticket.state == "new" else "resolve"
    due = ticket.ack_due_at if which == "ack" else ticket.resolve_due_at
    if kind == schedule.ACK_WARNING:
        ticket.ack_warned = True
    elif kind == schedule.ACK_BREACH:
        ticket.ack_breached = True
        ticket.supervised = True
        if ticket.ack_on_time is None:
            ticket.ack_on_time = False
    elif kind == schedule.RESOLVE_WARNING:
        ticket.resolve_warned = True
    elif kind == schedule.RESOLVE_BREACH:
        ticket.resolve_breached = True
        ticket.supervised = True
        # resolved_on_time is stamped at the first reply, not here: an extension requested in
        # time but approved after this breach still lets that reply be on time.
    else:
        ticket.last_reminder_at = now
    sla_refresh(ticket)
    ticket.save()
    event_append(
        ticket=ticket,
        kind=event_kind,
        label="时限监控",
        from_state=ticket.state,
        payload={
            "clock": which,
            "due_at": due.isoformat(),
            "cycle": ticket.reopen_count,
            "sla_kind": kind,
        },
        at=now,
    )
    local_due = timezone.localtime(due).strftime("%m-%d %H:%M")
    StaffNotification.objects.bulk_create(
        [
            StaffNotification(
                recipient=user,
                ticket=ticket,
                kind=event_kind,
                text=f"{text}：工单 {ticket.case_no}（{CLOCK_LABELS.get(which, '')}时限 {local_due}）",
                created_at=now,
            )
            for user in _recipients(ticket)
        ]
    )
    return kind
