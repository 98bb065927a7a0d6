"""Tickets from a previous system (历史导入), written in their final state.

History is not live work: no outbox notices, no SLA sweep, no live updates. So instead of
replaying transitions through the workflow (which would do all three), this service writes each
ticket with its timeline in bulk, its deadlines computed by our rules (``sla.services`` policies
and ``sla.clock`` working days) and its stamps (``ack_on_time``, ``resolved_on_time``) set from
the timestamps, with ``sla_next_at`` empty. ``TicketEvent.objects.bulk_create`` runs no event
hooks, which is exactly what history needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from sla import clock
from sla import services as sla
from tickets.models import (
    Category,
    Department,
    ExtensionRequest,
    Feedback,
    Reply,
    State,
    Ticket,
    TicketEvent,
)
from tickets.services.case_numbers import case_number_next
from tickets.services.clocks import basis_new
from tickets.services.events import iso

IMPORT_LABEL = "历史导入"


@dataclass
class HistoryReturn:
    at: dt.datetime
    reason: str


@dataclass
class HistoryPause:
    start: dt.datetime
    end: dt.datetime


@dataclass
class HistoryExtension:
    requested_at: dt.datetime
    days: int
    reason: str
    approved: bool
    decided_at: dt.datetime


@dataclass
class HistoryReply:
    at: dt.datetime
    content: str


@dataclass
class HistoryFeedback:
    at: dt.datetime
    satisfaction: str
    resolved: bool | None = None
    comment: str = ""


@dataclass
class HistoryRecord:
    """One case of the previous system, already checked (see ``dashboards.importer``)."""

    source_id: str
    channel: str
    request_type: str
    urgency: str
    content: str
    received_at: dt.datetime
    title: str = ""
    address: str = ""
    category: Category | None = None
    department: Department | None = None
    acknowledged_at: dt.datetime | None = None
    assigned_at: dt.datetime | None = None
    returns: list[HistoryReturn] = field(default_factory=list)
    pauses: list[HistoryPause] = field(default_factory=list)
    extensions: list[HistoryExtension] = field(default_factory=list)
    replies: list[HistoryReply] = field(default_factory=list)
    feedback: list[HistoryFeedback] = field(default_factory=list)
    closed_at: dt.datetime | None = None
    invalid_at: dt.datetime | None = None
    invalid_reason: str = ""


@dataclass
class _Step:
    at: dt.datetime
    kind: str
    to_state: str
    payload: dict[str, Any]
    order: int


@dataclass
class _Due:
    since: dt.datetime  # the deadline that held from this moment on
    at: dt.datetime


class _Rules:
    """Policies and the calendar, looked up once per batch."""

    def __init__(self, records: list[HistoryRecord]) -> None:
        first = min(clock.local_date(record.received_at) for record in records)
        last = max(clock.local_date(_last_moment(record)) for record in records)
        self.calendar = sla.calendar_load(
            start=first, days=(last - first).days + sla.CALENDAR_WINDOW_DAYS
        )
        self._policies: dict[tuple[str, str, int | None, str], clock.Policy] = {}

    def policy(self, record: HistoryRecord, kind: str = "resolution") -> clock.Policy:
        category_id = record.category.pk if record.category else None
        key = (record.request_type, record.urgency, category_id, kind)
        if key not in self._policies:
            if kind == "redo":
                self._policies[key] = sla.policy_select(
                    request_type="", urgency="", category_id=category_id, kind="redo"
                )
            else:
                self._policies[key] = sla.policy_select(
                    request_type=record.request_type,
                    urgency=record.urgency,
                    category_id=category_id,
                )
        return self._policies[key]


def _last_moment(record: HistoryRecord) -> dt.datetime:
    moments = [record.received_at]
    moments += [item.at for item in record.replies] + [item.at for item in record.feedback]
    moments += [item.end for item in record.pauses]
    return max(moments)


def _steps(record: HistoryRecord) -> list[_Step]:
    """The timeline in the order things happened (ties keep the natural order of a case)."""
    steps: list[_Step] = []

    def add(at: dt.datetime, kind: str, to_state: str, order: int, **payload: Any) -> None:
        steps.append(_Step(at, kind, to_state, payload, order))

    department = record.department.name if record.department else ""
    department_id = record.department.pk if record.department else None
    if record.acknowledged_at is not None:
        add(record.acknowledged_at, "acknowledge", State.ACKNOWLEDGED, 1)
    if record.department is not None and record.acknowledged_at is not None:
        assigned_at = record.assigned_at or record.acknowledged_at
        add(
            assigned_at,
            "assign",
            State.ASSIGNED,
            2,
            department=department,
            department_id=department_id,
        )
        for returned in record.returns:
            add(
                returned.at,
                "return_to_dispatch",
                State.ACKNOWLEDGED,
                3,
                reason=returned.reason,
                department=department,
            )
            # The previous system re-assigned it: to the department it ended with.
            add(
                returned.at,
                "assign",
                State.ASSIGNED,
                4,
                department=department,
                department_id=department_id,
            )
    for pause in record.pauses:
        add(pause.start, "request_info", State.WAITING_CITIZEN, 5, question="")
        add(pause.end, "resume", State.IN_PROGRESS, 6, paused_at=iso(pause.start))
    for ext in record.extensions:
        add(ext.requested_at, "request_extension", "", 5, days=ext.days, reason=ext.reason)
        kind = "extension_approved" if ext.approved else "extension_rejected"
        add(ext.decided_at, kind, "", 6, days=ext.days)
    for reply in record.replies:
        add(reply.at, "reply", State.REPLIED, 7)
    for cycle, item in enumerate(record.feedback):
        add(
            item.at,
            "feedback",
            "",
            8,
            satisfaction=item.satisfaction,
            resolved=item.resolved,
            comment=item.comment,
            cycle=cycle,
        )
        if item.satisfaction == Feedback.Satisfaction.UNSATISFIED:
            add(item.at, "reopen", State.IN_PROGRESS, 9, reason="市民不满意")
        else:
            add(item.at, "close", State.CLOSED, 9)
    if record.closed_at is not None and not any(step.kind == "close" for step in steps):
        add(record.closed_at, "close", State.CLOSED, 10)
    if record.invalid_at is not None:
        add(record.invalid_at, "mark_invalid", State.INVALID, 11, reason=record.invalid_reason)
    steps.sort(key=lambda step: (step.at, step.order))
    return steps


def _deadlines(record: HistoryRecord, rules: _Rules, ticket: Ticket) -> list[_Due]:
    """Deadlines by our rules, moved by pauses and approved extensions before the first reply;
    a reopen starts the redo cycle (5 working days by default). Returns every deadline the
    case had, from the moment it was set (the events are stamped with them)."""
    policy = rules.policy(record)
    due = clock.resolve_due(record.received_at, policy, rules.calendar)
    dues = [_Due(record.received_at, due.at)]
    confirmed = due.confirmed
    first_reply = record.replies[0].at if record.replies else None
    extra = 0
    moves: list[tuple[dt.datetime, Any]] = [(pause.end, pause) for pause in record.pauses]
    moves += [(ext.decided_at, ext) for ext in record.extensions if ext.approved]
    for at, move in sorted(moves, key=lambda item: item[0]):
        if first_reply is not None and at > first_reply:
            continue
        if isinstance(move, HistoryPause):
            due, lost = clock.pause_shift(due.at, move.start, move.end, rules.calendar)
            extra += lost
        else:
            due = clock.shift_deadline(due.at, move.days, rules.calendar)
            extra += move.days
        confirmed = confirmed and due.confirmed
        dues.append(_Due(at, due.at))
    ticket.resolve_due_at = due.at
    ticket.resolve_unit = policy.unit
    ticket.calendar_confirmed = confirmed
    ticket.resolve_basis = {
        **basis_new(start=record.received_at, policy=policy),
        "extra_days": extra,
    }
    if first_reply is not None:
        ticket.resolved_on_time = first_reply <= due.at
    reopens = [item.at for item in record.feedback if item.satisfaction == "unsatisfied"]
    if reopens:
        redo = rules.policy(record, "redo")
        for reopened_at in reopens:
            redo_due = clock.resolve_due(reopened_at, redo, rules.calendar)
            dues.append(_Due(reopened_at, redo_due.at))
        ticket.resolve_due_at = redo_due.at
        ticket.resolve_unit = redo.unit
        ticket.calendar_confirmed = redo_due.confirmed
        ticket.resolve_basis = basis_new(start=reopens[-1], policy=redo)
    return dues


def _ticket(record: HistoryRecord, rules: _Rules, steps: list[_Step]) -> tuple[Ticket, list[_Due]]:
    received_at = record.received_at
    ack_due_at = clock.ack_due(received_at, settings.MINSHENG["ACK_MINUTES"])
    state = State.NEW
    for step in steps:
        state = State(step.to_state) if step.to_state else state
    replies = [item.at for item in record.replies]
    closes = [step.at for step in steps if step.kind == "close"]
    reopens = [step for step in steps if step.kind == "reopen"]
    ticket = Ticket(
        case_no=case_number_next(received_at=received_at),
        channel=record.channel,
        request_type=record.request_type,
        urgency=record.urgency,
        category=record.category,
        department=record.department,
        title=(record.title or record.content.strip().splitlines()[0])[:200],
        content=record.content,
        address=record.address[:300],
        state=state,
        received_at=received_at,
        ack_due_at=ack_due_at,
        acknowledged_at=record.acknowledged_at,
        ack_on_time=(record.acknowledged_at <= ack_due_at) if record.acknowledged_at else None,
        first_replied_at=replies[0] if replies else None,
        replied_at=replies[-1] if replies else None,
        closed_at=closes[-1] if state == State.CLOSED and closes else None,
        reopen_count=len(reopens),
        sla_next_at=None,
        sla_next_kind="",
    )
    ticket.ack_breached = ticket.ack_on_time is False
    dues = _deadlines(record, rules, ticket)
    ticket.resolve_breached = ticket.resolved_on_time is False
    return ticket, dues


def _events(
    ticket: Ticket, record: HistoryRecord, steps: list[_Step], dues: list[_Due]
) -> list[TicketEvent]:
    """The timeline, each event stamped with the ticket as it stood after it (as
    ``event_append`` does): the department from its first assignment (throughout, if the
    previous system never recorded one), the deadline that held at that moment."""
    assigned = [step.at for step in steps if step.kind == "assign"]

    def stamps(at: dt.datetime, kind: str) -> dict[str, Any]:
        dispatched = not assigned or at > assigned[0] or (at == assigned[0] and kind == "assign")
        due = [item.at for item in dues if item.since <= at]
        return {
            "after_department_id": ticket.department_id if dispatched else None,
            "after_category_id": ticket.category_id,
            "after_request_type": ticket.request_type,
            "after_resolve_due_at": due[-1] if due else dues[0].at,
        }

    events = [
        TicketEvent(
            ticket=ticket,
            kind="created",
            actor_label=IMPORT_LABEL,
            to_state=State.NEW,
            payload={"channel": record.channel, "source_id": record.source_id, "imported": True},
            created_at=record.received_at,
            **stamps(record.received_at, "created"),
        )
    ]
    state = State.NEW.value
    for step in steps:
        to_state = step.to_state or state
        payload = {**step.payload, "imported": True}
        if step.kind == "reply":
            first = step.at == ticket.first_replied_at
            payload["first"] = first
            if first:
                payload["on_time"] = ticket.resolved_on_time
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=step.kind,
                actor_label=IMPORT_LABEL,
                from_state=state,
                to_state=to_state,
                payload=payload,
                created_at=step.at,
                **stamps(step.at, step.kind),
            )
        )
        state = to_state
    return events


def tickets_import_history(*, records: list[HistoryRecord]) -> list[Ticket]:
    """Write a batch of historical cases with their timelines, replies, feedback and
    extensions, in one transaction. Returns the tickets in the order of ``records``."""
    if not records:
        return []
    with transaction.atomic():
        rules = _Rules(records)
        timelines = [_steps(record) for record in records]
        built = [
            _ticket(record, rules, steps) for record, steps in zip(records, timelines, strict=True)
        ]
        tickets = [ticket for ticket, _dues in built]
        Ticket.objects.bulk_create(tickets)
        events: list[TicketEvent] = []
        replies: list[Reply] = []
        feedback: list[Feedback] = []
        extensions: list[ExtensionRequest] = []
        for (ticket, dues), record, steps in zip(built, records, timelines, strict=True):
            events += _events(ticket, record, steps, dues)
            replies += [
                Reply(
                    ticket=ticket,
                    department=record.department,
                    content=item.content,
                    created_at=item.at,
                )
                for item in record.replies
            ]
            feedback += [
                Feedback(
                    ticket=ticket,
                    satisfaction=item.satisfaction,
                    resolved=item.resolved,
                    comment=item.comment,
                    channel="import",
                    cycle=cycle,
                    created_at=item.at,
                )
                for cycle, item in enumerate(record.feedback)
            ]
            extensions += [
                ExtensionRequest(
                    ticket=ticket,
                    days=item.days,
                    reason=item.reason,
                    status=ExtensionRequest.Status.APPROVED
                    if item.approved
                    else ExtensionRequest.Status.REJECTED,
                    requested_at=item.requested_at,
                    decided_at=item.decided_at,
                    decision_note=IMPORT_LABEL,
                )
                for item in record.extensions
            ]
        TicketEvent.objects.bulk_create(events)
        Reply.objects.bulk_create(replies)
        Feedback.objects.bulk_create(feedback)
        ExtensionRequest.objects.bulk_create(extensions)
    return tickets
