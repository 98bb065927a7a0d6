"""延期: request before the deadline, supervisor approves or rejects, 10 working days at most."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.conftest import CHINA, walk
from tickets.errors import ActionForbidden, InvalidInput, TicketNotFound
from tickets.models import ExtensionRequest, Ticket, TicketEvent
from tickets.services.extensions import ticket_extension_decide, ticket_extension_request

# The worked example of specs/sla.md: a complaint received 2026-09-30 16:00, due 10-27.
RECEIVED = dt.datetime(2026, 9, 30, 16, 0, tzinfo=CHINA)


@pytest.fixture
def complaint(make_ticket, cast, departments):  # type: ignore[no-untyped-def]
    with time_machine.travel(RECEIVED, tick=False):
        ticket = make_ticket(request_type="complaint")
        ticket = walk(ticket, cast, departments, "in_progress")
    assert ticket.resolve_due_at == dt.datetime(2026, 10, 27, 23, 59, 59, tzinfo=CHINA)
    return ticket


def request(ticket, user, days=5, when=dt.datetime(2026, 10, 20, 10, 0, tzinfo=CHINA)):  # type: ignore[no-untyped-def]
    with time_machine.travel(when, tick=False):
        return ticket_extension_request(
            actor=user, ticket_id=ticket.pk, days=days, reason="需要协调多个部门"
        )


def test_it_moves_the_deadline_on_approval_and_records_before_and_after(complaint, cast):
    pending = request(complaint, cast["handler_a"])
    assert Ticket.objects.get(pk=complaint.pk).resolve_due_at == complaint.resolve_due_at
    with time_machine.travel(dt.datetime(2026, 10, 21, 9, 0, tzinfo=CHINA), tick=False):
        decided = ticket_extension_decide(
            actor=cast["supervisor_a"], request_id=pending.pk, approve=True
        )
    ticket = Ticket.objects.get(pk=complaint.pk)
    # 5 working days after Tue 10-27: 10-28, 10-29, 10-30, 11-02, 11-03.
    assert ticket.resolve_due_at == dt.datetime(2026, 11, 3, 23, 59, 59, tzinfo=CHINA)
    assert decided.status == ExtensionRequest.Status.APPROVED
    event = TicketEvent.objects.get(ticket=ticket, kind="extension_approved")
    assert event.payload["resolve_due_before"].startswith("2026-10-27T23:59:59")
    assert event.payload["resolve_due_after"].startswith("2026-11-03T23:59:59")
    assert TicketEvent.objects.filter(ticket=ticket, kind="request_extension").count() == 1


def test_it_moves_nothing_on_rejection(complaint, cast):
    pending = request(complaint, cast["handler_a"])
    ticket_extension_decide(
        actor=cast["supervisor_a"], request_id=pending.pk, approve=False, note="理由不充分"
    )
    ticket = Ticket.objects.get(pk=complaint.pk)
    assert ticket.resolve_due_at == complaint.resolve_due_at
    event = TicketEvent.objects.get(ticket=ticket, kind="extension_rejected")
    assert event.payload["resolve_due_before"] == event.payload["resolve_due_after"]


def test_it_refuses_more_than_ten_working_days_in_total(complaint, cast):
    first = request(complaint, cast["handler_a"], days=6)
    ticket_extension_decide(actor=cast["supervisor_a"], request_id=first.pk, approve=True)
    with pytest.raises(InvalidInput) as excinfo:
        request(complaint, cast["handler_a"], days=5)
    assert "10" in excinfo.value.message and excinfo.value.field == "days"
    request(complaint, cast["handler_a"], days=4)


def test_it_refuses_a_request_after_the_deadline(complaint, cast):
    with pytest.raises(InvalidInput, match="时限已过"):
        request(complaint, cast["handler_a"], when=dt.datetime(2026, 10, 28, 9, 0, tzinfo=CHINA))


def test_it_refuses_a_second_pending_request_and_a_second_decision(complaint, cast):
    pending = request(complaint, cast["handler_a"], days=2)
    with pytest.raises(InvalidInput, match="待审批"):
        request(complaint, cast["handler_a"], days=2)
    ticket_extension_decide(actor=cast["supervisor_a"], request_id=pending.pk, approve=True)
    with pytest.raises(InvalidInput, match="不能重复审批"):
        ticket_extension_decide(actor=cast["supervisor_a"], request_id=pending.pk, approve=True)


def test_only_the_departments_supervisor_decides(complaint, cast):
    pending = request(complaint, cast["handler_a"])
    with pytest.raises(ActionForbidden):
        ticket_extension_decide(actor=cast["handler_a"], request_id=pending.pk, approve=True)
    with pytest.raises(TicketNotFound):
        ticket_extension_decide(actor=cast["supervisor_b"], request_id=pending.pk, approve=True)
    with pytest.raises(ActionForbidden):
        ticket_extension_decide(actor=cast["leadership"], request_id=pending.pk, approve=True)
    assert ExtensionRequest.objects.get(pk=pending.pk).status == ExtensionRequest.Status.PENDING


def test_an_approved_extension_starts_a_new_warning_cycle(complaint, cast):
    from sla.sweep import sweep_once

    with time_machine.travel(dt.datetime(2026, 10, 27, 0, 0, 1, tzinfo=CHINA), tick=False):
        assert sweep_once().handled == {"resolve_warning": 1}
    pending = request(
        complaint, cast["handler_a"], when=dt.datetime(2026, 10, 27, 9, 0, tzinfo=CHINA)
    )
    ticket_extension_decide(actor=cast["supervisor_a"], request_id=pending.pk, approve=True)
    ticket = Ticket.objects.get(pk=complaint.pk)
    assert ticket.resolve_warned is False
    assert ticket.sla_next_at == dt.datetime(2026, 11, 3, 0, 0, tzinfo=CHINA)
    with time_machine.travel(dt.datetime(2026, 11, 3, 0, 0, 1, tzinfo=CHINA), tick=False):
        assert sweep_once().handled == {"resolve_warning": 1}


def test_the_worked_pause_then_extension_example(complaint, cast):
    from tickets import services

    with time_machine.travel(dt.datetime(2026, 10, 9, 10, 0, tzinfo=CHINA), tick=False):
        services.ticket_request_info(
            actor=cast["handler_a"], ticket_id=complaint.pk, question="请补充照片"
        )
    with time_machine.travel(dt.datetime(2026, 10, 13, 15, 0, tzinfo=CHINA), tick=False):
        services.ticket_resume(actor=cast["handler_a"], ticket_id=complaint.pk)
    ticket = Ticket.objects.get(pk=complaint.pk)
    assert ticket.resolve_due_at == dt.datetime(2026, 10, 30, 23, 59, 59, tzinfo=CHINA)
    pending = request(complaint, cast["handler_a"], days=5)
    ticket_extension_decide(actor=cast["supervisor_a"], request_id=pending.pk, approve=True)
    ticket = Ticket.objects.get(pk=complaint.pk)
    assert ticket.resolve_due_at == dt.datetime(2026, 11, 6, 23, 59, 59, tzinfo=CHINA)
    assert ticket.resolve_basis["extra_days"] == 3 + 5


def test_a_reply_inside_an_extension_approved_after_the_breach_is_on_time(complaint, cast):
    from sla.sweep import sweep_once
    from tickets import services

    pending = request(
        complaint, cast["handler_a"], when=dt.datetime(2026, 10, 27, 9, 0, tzinfo=CHINA)
    )
    with time_machine.travel(dt.datetime(2026, 10, 28, 0, 0, 1, tzinfo=CHINA), tick=False):
        assert sweep_once().handled["resolve_breach"] == 1  # the supervisor was slow to decide
    with time_machine.travel(dt.datetime(2026, 10, 28, 9, 0, tzinfo=CHINA), tick=False):
        ticket_extension_decide(actor=cast["supervisor_a"], request_id=pending.pk, approve=True)
    with time_machine.travel(dt.datetime(2026, 10, 30, 9, 0, tzinfo=CHINA), tick=False):
        services.ticket_reply(
            actor=cast["handler_a"], ticket_id=complaint.pk, content="已协调解决。"
        )
    assert Ticket.objects.get(pk=complaint.pk).resolved_on_time is True


def test_no_extension_is_approved_once_the_case_is_replied(complaint, cast):
    from tickets import services

    pending = request(complaint, cast["handler_a"])
    services.ticket_reply(actor=cast["handler_a"], ticket_id=complaint.pk, content="已处理。")
    with pytest.raises(InvalidInput, match="不能再批准延期"):
        ticket_extension_decide(actor=cast["supervisor_a"], request_id=pending.pk, approve=True)
    assert Ticket.objects.get(pk=complaint.pk).resolve_due_at == complaint.resolve_due_at


def test_reclassifying_keeps_the_days_pauses_and_extensions_added(complaint, cast):
    from tickets import services

    with time_machine.travel(dt.datetime(2026, 10, 9, 10, 0, tzinfo=CHINA), tick=False):
        services.ticket_request_info(
            actor=cast["handler_a"], ticket_id=complaint.pk, question="请补充照片"
        )
    with time_machine.travel(dt.datetime(2026, 10, 13, 15, 0, tzinfo=CHINA), tick=False):
        services.ticket_resume(actor=cast["handler_a"], ticket_id=complaint.pk)
    # complaint 15 + 3 lost = 18 working days → 10-30; as a consultation 2 + 3 = 5 → 10-13.
    services.ticket_classify(
        actor=cast["dispatcher"], ticket_id=complaint.pk, request_type="consult"
    )
    ticket = Ticket.objects.get(pk=complaint.pk)
    assert ticket.resolve_due_at == dt.datetime(2026, 10, 13, 23, 59, 59, tzinfo=CHINA)
    services.ticket_classify(
        actor=cast["dispatcher"], ticket_id=complaint.pk, request_type="complaint"
    )
    ticket = Ticket.objects.get(pk=complaint.pk)
    assert ticket.resolve_due_at == dt.datetime(2026, 10, 30, 23, 59, 59, tzinfo=CHINA)


def test_reclassifying_never_touches_a_platform_deadline(make_ticket, cast):
    from tickets import services

    due = dt.datetime(2026, 10, 20, 18, 0, tzinfo=CHINA)
    with time_machine.travel(RECEIVED, tick=False):
        ticket = make_ticket(
            request_type="complaint", acknowledged=True, resolve_due_at=due, channel="hotline"
        )
    services.ticket_classify(actor=cast["dispatcher"], ticket_id=ticket.pk, request_type="consult")
    assert Ticket.objects.get(pk=ticket.pk).resolve_due_at == due
