"""回访: satisfied closes, unsatisfied reopens with a redo deadline, once per cycle."""

from __future__ import annotations

import pytest

from tests.conftest import walk
from tickets.errors import InvalidInput, TransitionNotAllowed
from tickets.models import Feedback, Ticket, TicketEvent
from tickets.services.feedback import ticket_feedback


def test_it_closes_the_case_when_the_citizen_is_satisfied(make_ticket, cast, departments):
    ticket = walk(make_ticket(), cast, departments, "replied")
    ticket_feedback(
        ticket_id=ticket.pk, satisfaction="basically_satisfied", resolved=True, channel="website"
    )
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.state == "closed"
    assert Feedback.objects.get(ticket=ticket).resolved is True
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))[-2:] == [
        "feedback",
        "close",
    ]


def test_it_reopens_the_case_when_the_citizen_is_unsatisfied(make_ticket, cast, departments):
    ticket = walk(make_ticket(), cast, departments, "replied")
    ticket_feedback(
        ticket_id=ticket.pk, satisfaction="unsatisfied", resolved=False, comment="路灯还是不亮"
    )
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.state == "in_progress" and ticket.reopen_count == 1
    reopen = TicketEvent.objects.get(ticket=ticket, kind="reopen")
    assert "路灯还是不亮" in reopen.payload["reason"]
    assert ticket.sla_next_kind == "resolve_warning"


def test_it_takes_one_feedback_per_reply(make_ticket, cast, departments):
    ticket = walk(make_ticket(), cast, departments, "replied")
    ticket_feedback(ticket_id=ticket.pk, satisfaction="unsatisfied")
    from tickets import services

    services.ticket_reply(actor=cast["handler_a"], ticket_id=ticket.pk, content="已重新维修。")
    ticket_feedback(ticket_id=ticket.pk, satisfaction="satisfied")
    assert Feedback.objects.filter(ticket=ticket).count() == 2
    assert Ticket.objects.get(pk=ticket.pk).state == "closed"


def test_it_refuses_feedback_before_a_reply_and_bad_values(make_ticket):
    ticket = make_ticket()
    with pytest.raises(TransitionNotAllowed, match="只有已答复"):
        ticket_feedback(ticket_id=ticket.pk, satisfaction="satisfied")
    with pytest.raises(InvalidInput):
        ticket_feedback(ticket_id=ticket.pk, satisfaction="meh")
    assert not Feedback.objects.exists()
