"""The state machine of ARCHITECTURE.md through the real services: every state against every
action, the timeline each transition leaves, and the clock stamps it sets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from tests.conftest import walk
from tickets import services
from tickets.errors import ConflictError, InvalidInput, TransitionNotAllowed
from tickets.models import Department, Reply, State, Ticket, TicketEvent
from tickets.permissions import ACTIONS
from tickets.services.workflow import TRANSITION_SERVICES

CHINA = dt.timezone(dt.timedelta(hours=8))

OPEN = ["new", "acknowledged", "assigned", "in_progress", "waiting_citizen"]
STATES = [*OPEN, "replied", "closed", "merged", "invalid"]

# action -> {from state: to state}; every pair not listed must be refused.
ALLOWED: dict[str, dict[str, str]] = {
    "acknowledge": {"new": "acknowledged"},
    "assign": {"acknowledged": "assigned"},
    "accept": {"assigned": "in_progress"},
    "return_to_dispatch": {"assigned": "acknowledged"},
    "transfer": {"in_progress": "assigned"},
    "request_info": {"in_progress": "waiting_citizen"},
    "resume": {"waiting_citizen": "in_progress"},
    "reply": {"acknowledged": "replied", "in_progress": "replied"},
    "reopen": {"replied": "in_progress", "closed": "in_progress"},
    "close": {"replied": "closed"},
    "merge_into": {state: "merged" for state in OPEN},
    "mark_invalid": {"new": "invalid", "acknowledged": "invalid"},
}


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)


def eod(year: int, month: int, day: int) -> dt.datetime:
    return at(year, month, day, 23, 59, 59)


def arguments(action: str, departments: dict[str, Department], other: Ticket) -> dict[str, Any]:
    """Valid arguments for each action (what a form would post)."""
    return {
        "acknowledge": {},
        "assign": {"department_id": departments["b"].pk},
        "accept": {},
        "return_to_dispatch": {"reason": "不属于本部门职责"},
        "transfer": {"department_id": departments["b"].pk, "reason": "属住建局职责"},
        "request_info": {"question": "请提供具体位置"},
        "resume": {"note": "市民已补充"},
        "reply": {"content": "已安排维修，路灯已恢复。"},
        "reopen": {"reason": "市民不满意：路灯仍然不亮"},
        "close": {},
        "merge_into": {"into_case_no": other.case_no},
        "mark_invalid": {"reason": "广告信息"},
    }[action]


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """Everything the database holds about the ticket."""
    return {
        "row": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "events": list(TicketEvent.objects.filter(ticket=ticket).values_list("pk", flat=True)),
        "replies": Reply.objects.filter(ticket=ticket).count(),
    }


@pytest.fixture
def in_state(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> Callable[[str], Ticket]:
    """A ticket brought into ``state`` by the real services."""

    def build(state: str) -> Ticket:
        ticket = make_ticket()
        if state == "merged":
            target = make_ticket("同一盏路灯，还是不亮。")
            services.ticket_merge(
                actor=cast["dispatcher"], ticket_id=ticket.pk, into_case_no=target.case_no
            )
        elif state == "invalid":
            services.ticket_mark_invalid(
                actor=cast["dispatcher"], ticket_id=ticket.pk, reason="广告信息"
            )
        elif state != "new":
            walk(ticket, cast, departments, state)
        ticket.refresh_from_db()
        assert ticket.state == state
        return ticket

    return build


def test_the_table_names_every_transition_service() -> None:
    assert set(ALLOWED) == set(TRANSITION_SERVICES)
    assert set(STATES) == set(State.values)


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("state", STATES)
def test_every_action_in_every_state(
    state: str,
    action: str,
    in_state: Callable[[str], Ticket],
    cast: dict[str, Any],
    departments: dict[str, Department],
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = in_state(state)
    other = make_ticket("另一件诉求：小区门口积水。")
    before = snapshot(ticket)
    run = TRANSITION_SERVICES[action]
    kwargs = arguments(action, departments, other)
    target = ALLOWED[action].get(state)

    if target is None:
        with pytest.raises(TransitionNotAllowed) as refused:
            run(actor=cast["admin"], ticket_id=ticket.pk, **kwargs)
        message = refused.value.message
        assert f"「{State(state).label}」" in message
        assert f"「{ACTIONS[action]}」" in message
        assert ticket.case_no in message
        assert refused.value.action == action and refused.value.state == state
        assert snapshot(ticket) == before
        return

    result = run(actor=cast["admin"], ticket_id=ticket.pk, **kwargs)
    assert result.state == target
    ticket.refresh_from_db()
    assert ticket.state == target
    assert ticket.version == before["row"]["version"] + 1
    events = list(TicketEvent.objects.filter(ticket=ticket).exclude(pk__in=before["events"]))
    assert len(events) == 1
    (event,) = events
    assert (event.kind, event.from_state, event.to_state) == (action, state, target)
    assert event.actor == cast["admin"]


# --- the timeline and the version -------------------------------------------------------------


def test_each_step_of_the_happy_path_leaves_one_event_and_one_version(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    assert ticket.version == 1
    closed = walk(ticket, cast, departments, "closed")
    events = list(closed.events.order_by("created_at", "id"))
    assert [(e.kind, e.from_state, e.to_state) for e in events] == [
        ("created", "", "new"),
        ("acknowledge", "new", "acknowledged"),
        ("assign", "acknowledged", "assigned"),
        ("accept", "assigned", "in_progress"),
        ("reply", "in_progress", "replied"),
        ("close", "replied", "closed"),
    ]
    assert closed.version == 6


def test_a_ticket_event_cannot_be_changed(make_ticket: Callable[..., Ticket]) -> None:
    event = make_ticket().events.get()
    event.payload = {"tampered": True}
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    event.refresh_from_db()
    assert "tampered" not in event.payload


def test_a_ticket_event_cannot_be_deleted(make_ticket: Callable[..., Ticket]) -> None:
    ticket = make_ticket()
    event = ticket.events.get()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert TicketEvent.objects.filter(pk=event.pk).exists()


def test_the_state_cannot_be_assigned_directly(make_ticket: Callable[..., Ticket]) -> None:
    ticket = make_ticket()
    with pytest.raises(AttributeError):
        ticket.state = "closed"
    ticket.refresh_from_db()
    assert ticket.state == "new"


def test_a_ticket_loaded_from_the_database_is_protected_too(
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = Ticket.objects.get(pk=make_ticket().pk)
    with pytest.raises(AttributeError):
        ticket.state = State.CLOSED
    assert Ticket.objects.get(pk=ticket.pk).state == "new"


# --- optimistic concurrency -------------------------------------------------------------------


def test_a_stale_version_is_refused_and_nothing_is_written(
    cast: dict[str, Any], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    ticket.refresh_from_db()
    before = snapshot(ticket)
    with pytest.raises(ConflictError) as refused:
        services.ticket_mark_invalid(
            actor=cast["admin"], ticket_id=ticket.pk, reason="广告", expected_version=1
        )
    assert isinstance(refused.value, TransitionNotAllowed)
    assert "已被他人修改" in refused.value.message
    assert "「已受理」" in refused.value.message and "「标记无效」" in refused.value.message
    assert snapshot(ticket) == before


def test_the_current_version_is_accepted(
    cast: dict[str, Any], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    done = services.ticket_acknowledge(
        actor=cast["admin"], ticket_id=ticket.pk, expected_version=ticket.version
    )
    assert (done.state, done.version) == ("acknowledged", 2)


# --- required input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "action", "kwargs", "field"),
    [
        ("assigned", "return_to_dispatch", {"reason": "  "}, "reason"),
        ("in_progress", "transfer", {"department_id": "b", "reason": ""}, "reason"),
        ("in_progress", "transfer", {"department_id": None, "reason": "转办"}, "department"),
        ("in_progress", "transfer", {"department_id": "a", "reason": "转办"}, "department"),
        ("in_progress", "request_info", {"question": ""}, "question"),
        ("in_progress", "reply", {"content": "\n\t "}, "content"),
        ("replied", "reopen", {"reason": ""}, "reason"),
        ("new", "mark_invalid", {"reason": ""}, "reason"),
        ("acknowledged", "assign", {"department_id": None}, "department"),
        ("new", "merge_into", {"into_case_no": ""}, "into"),
        ("new", "merge_into", {"into_case_no": "self"}, "into"),
    ],
)
def test_it_requires_the_input_each_action_needs(
    state: str,
    action: str,
    kwargs: dict[str, Any],
    field: str,
    in_state: Callable[[str], Ticket],
    cast: dict[str, Any],
    departments: dict[str, Department],
) -> None:
    ticket = in_state(state)
    if kwargs.get("department_id") in departments:
        kwargs = {**kwargs, "department_id": departments[kwargs["department_id"]].pk}
    if kwargs.get("into_case_no") == "self":
        kwargs = {**kwargs, "into_case_no": ticket.case_no}
    before = snapshot(ticket)
    with pytest.raises(InvalidInput) as refused:
        TRANSITION_SERVICES[action](actor=cast["admin"], ticket_id=ticket.pk, **kwargs)
    assert refused.value.field == field
    assert refused.value.message
    assert snapshot(ticket) == before


def test_a_ticket_cannot_be_merged_into_a_merged_one(
    in_state: Callable[[str], Ticket], cast: dict[str, Any], make_ticket: Callable[..., Ticket]
) -> None:
    merged = in_state("merged")
    ticket = make_ticket()
    before = snapshot(ticket)
    with pytest.raises(InvalidInput) as refused:
        services.ticket_merge(actor=cast["admin"], ticket_id=ticket.pk, into_case_no=merged.case_no)
    assert refused.value.field == "into" and "「已合并」" in refused.value.message
    assert snapshot(ticket) == before


def test_a_merge_records_the_ticket_it_joined(
    cast: dict[str, Any], make_ticket: Callable[..., Ticket]
) -> None:
    target = make_ticket()
    ticket = make_ticket()
    merged = services.ticket_merge(
        actor=cast["admin"], ticket_id=ticket.pk, into_case_no=target.case_no
    )
    assert merged.duplicate_of == target
    assert merged.events.get(kind="merge_into").payload["into"] == target.case_no


# --- the acknowledgement clock ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "on_time"), [(5, True), (30, True), (31, False), (60 * 24, False)]
)
def test_acknowledge_stamps_whether_it_was_on_time(
    minutes: int, on_time: bool, cast: dict[str, Any], make_ticket: Callable[..., Ticket]
) -> None:
    received = at(2026, 11, 16, 10, 0)
    with time_machine.travel(received, tick=False):
        ticket = make_ticket()
    with time_machine.travel(received + dt.timedelta(minutes=minutes), tick=False):
        done = services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    assert done.ack_on_time is on_time
    assert done.acknowledged_at == received + dt.timedelta(minutes=minutes)
    assert done.events.get(kind="acknowledge").payload["ack_on_time"] is on_time


def test_the_ack_stamp_never_changes_afterwards(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    received = at(2026, 11, 16, 10, 0)
    with time_machine.travel(received, tick=False):
        ticket = make_ticket()
    with time_machine.travel(received + dt.timedelta(minutes=31), tick=False):
        services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    with time_machine.travel(received + dt.timedelta(hours=2), tick=False):
        services.ticket_assign(
            actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["a"].pk
        )
        services.ticket_return(actor=cast["handler_a"], ticket_id=ticket.pk, reason="不属本部门")
        services.ticket_assign(
            actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["b"].pk
        )
        services.ticket_accept(actor=cast["handler_b"], ticket_id=ticket.pk)
        services.ticket_reply(actor=cast["handler_b"], ticket_id=ticket.pk, content="已处理")
        services.ticket_reopen(actor=cast["dispatcher"], ticket_id=ticket.pk, reason="不满意")
    ticket.refresh_from_db()
    assert ticket.ack_on_time is False
    assert ticket.acknowledged_at == received + dt.timedelta(minutes=31)


# --- the resolution clock ---------------------------------------------------------------------


def _replied_then_reopened(
    cast: dict[str, Any],
    departments: dict[str, Department],
    make_ticket: Callable[..., Ticket],
    *,
    reply_at: dt.datetime,
    reopen_at: dt.datetime,
) -> Ticket:
    # A consult received Monday 2026-11-16 10:00 is due Wednesday 11-18 23:59:59.
    with time_machine.travel(at(2026, 11, 16, 10, 0), tick=False):
        ticket = make_ticket(request_type="consult")
        walk(ticket, cast, departments, "in_progress")
    with time_machine.travel(reply_at, tick=False):
        services.ticket_reply(actor=cast["handler_a"], ticket_id=ticket.pk, content="答复一")
    with time_machine.travel(reopen_at, tick=False):
        services.ticket_reopen(actor=cast["dispatcher"], ticket_id=ticket.pk, reason="不满意")
    ticket.refresh_from_db()
    return ticket


def test_the_first_reply_stamps_resolved_on_time_for_good(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = _replied_then_reopened(
        cast,
        departments,
        make_ticket,
        reply_at=eod(2026, 11, 18),  # at the deadline is on time
        reopen_at=at(2026, 11, 19, 9, 0),
    )
    assert ticket.resolved_on_time is True
    # The redo deadline is 11-26; this reply comes after it.
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        late = services.ticket_reply(actor=cast["handler_a"], ticket_id=ticket.pk, content="答复二")
    assert late.resolved_on_time is True
    late.refresh_from_db()
    assert late.resolved_on_time is True
    assert late.first_replied_at == eod(2026, 11, 18)
    assert late.replied_at == at(2026, 12, 1, 10, 0)
    payloads = [e.payload for e in late.events.filter(kind="reply").order_by("id")]
    assert [(p["first"], p["on_time"], p["cycle"]) for p in payloads] == [
        (True, True, 0),
        (False, False, 1),
    ]


def test_a_late_first_reply_stays_late_after_an_on_time_redo(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = _replied_then_reopened(
        cast,
        departments,
        make_ticket,
        reply_at=at(2026, 11, 19, 0, 0, 0),  # one second late
        reopen_at=at(2026, 11, 19, 9, 0),
    )
    assert ticket.resolved_on_time is False
    with time_machine.travel(at(2026, 11, 20, 10, 0), tick=False):
        services.ticket_reply(actor=cast["handler_a"], ticket_id=ticket.pk, content="答复二")
    ticket.refresh_from_db()
    assert ticket.resolved_on_time is False


def test_reopen_sets_a_five_working_day_redo_deadline(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = _replied_then_reopened(
        cast,
        departments,
        make_ticket,
        reply_at=at(2026, 11, 17, 15, 0),
        reopen_at=at(2026, 11, 19, 9, 0),  # a Thursday
    )
    assert ticket.state == "in_progress"
    assert ticket.reopen_count == 1
    # 11-20, 11-23, 11-24, 11-25, 11-26.
    assert ticket.resolve_due_at == eod(2026, 11, 26)
    assert ticket.calendar_confirmed is True
    event = ticket.events.get(kind="reopen")
    assert dt.datetime.fromisoformat(event.payload["resolve_due_before"]) == eod(2026, 11, 18)
    assert dt.datetime.fromisoformat(event.payload["resolve_due_after"]) == eod(2026, 11, 26)
    assert event.payload["reason"] == "不满意" and event.payload["cycle"] == 1


def test_reopen_of_a_closed_ticket_clears_the_close_and_counts_the_cycle(
    in_state: Callable[[str], Ticket], cast: dict[str, Any]
) -> None:
    ticket = in_state("closed")
    assert ticket.closed_at is not None
    reopened = services.ticket_reopen(actor=cast["admin"], ticket_id=ticket.pk, reason="不满意")
    assert (reopened.state, reopened.closed_at, reopened.reopen_count) == ("in_progress", None, 1)


def test_transfer_and_return_keep_the_deadline(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    with time_machine.travel(at(2026, 11, 16, 10, 0), tick=False):
        ticket = make_ticket(request_type="complaint")
        walk(ticket, cast, departments, "in_progress")
    ticket.refresh_from_db()
    due = ticket.resolve_due_at
    assert due == eod(2026, 12, 7)
    with time_machine.travel(at(2026, 11, 20, 10, 0), tick=False):
        services.ticket_transfer(
            actor=cast["handler_a"],
            ticket_id=ticket.pk,
            department_id=departments["b"].pk,
            reason="属住建局职责",
        )
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department, ticket.assignee) == (
        "assigned",
        departments["b"],
        None,
    )
    assert ticket.resolve_due_at == due
    with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):
        services.ticket_return(actor=cast["handler_b"], ticket_id=ticket.pk, reason="不属本部门")
    ticket.refresh_from_db()
    assert ticket.state == "acknowledged"
    assert ticket.resolve_due_at == due
    assert ticket.events.get(kind="return_to_dispatch").payload["reason"] == "不属本部门"


def test_a_pause_across_a_weekend_moves_the_deadline_by_the_working_days_lost(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    with time_machine.travel(at(2026, 11, 16, 10, 0), tick=False):
        ticket = make_ticket(request_type="complaint")
        walk(ticket, cast, departments, "in_progress")
    ticket.refresh_from_db()
    assert ticket.resolve_due_at == eod(2026, 12, 7)
    with time_machine.travel(at(2026, 11, 20, 10, 0), tick=False):  # Friday
        waiting = services.ticket_request_info(
            actor=cast["handler_a"], ticket_id=ticket.pk, question="请提供具体位置"
        )
    assert waiting.paused_at == at(2026, 11, 20, 10, 0)
    assert waiting.resolve_due_at == eod(2026, 12, 7)
    with time_machine.travel(at(2026, 11, 24, 9, 0), tick=False):  # Tuesday
        resumed = services.ticket_resume(actor=cast["handler_a"], ticket_id=ticket.pk)
    # Lost: Monday 11-23 and Tuesday 11-24; the weekend costs nothing.
    assert resumed.state == "in_progress"
    assert resumed.paused_at is None
    assert resumed.resolve_due_at == eod(2026, 12, 9)
    resumed.refresh_from_db()
    assert resumed.resolve_due_at == eod(2026, 12, 9)
    payload = resumed.events.get(kind="resume").payload
    assert payload["working_days_lost"] == 2
    assert dt.datetime.fromisoformat(payload["resolve_due_before"]) == eod(2026, 12, 7)
    assert dt.datetime.fromisoformat(payload["resolve_due_after"]) == eod(2026, 12, 9)


def test_a_pause_over_the_weekend_only_moves_nothing(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    with time_machine.travel(at(2026, 11, 16, 10, 0), tick=False):
        ticket = make_ticket(request_type="complaint")
        walk(ticket, cast, departments, "in_progress")
    with time_machine.travel(at(2026, 11, 20, 17, 0), tick=False):
        services.ticket_request_info(
            actor=cast["handler_a"], ticket_id=ticket.pk, question="位置？"
        )
    with time_machine.travel(at(2026, 11, 22, 20, 0), tick=False):
        resumed = services.ticket_resume(actor=cast["handler_a"], ticket_id=ticket.pk)
    assert resumed.resolve_due_at == eod(2026, 12, 7)
    assert resumed.events.get(kind="resume").payload["working_days_lost"] == 0
