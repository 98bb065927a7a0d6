from tests.conftest import walk


def test_it_walks_a_ticket_from_arrival_to_close(cast, departments, make_ticket):
    ticket = make_ticket()
    assert len(ticket.case_no) == 14 and ticket.state == "new"
    closed = walk(ticket, cast, departments, "closed")
    kinds = list(closed.events.values_list("kind", flat=True))
    assert kinds == ["created", "acknowledge", "assign", "accept", "reply", "close"]
    assert closed.resolved_on_time is True and closed.ack_on_time is True


def test_it_refuses_bulk_changes_to_the_timeline(make_ticket):
    import pytest

    from tickets.models import TicketEvent

    ticket = make_ticket()
    with pytest.raises(ValueError, match="append-only"):
        TicketEvent.objects.filter(ticket=ticket).update(kind="forged")
    with pytest.raises(ValueError, match="append-only"):
        TicketEvent.objects.filter(ticket=ticket).delete()
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == [
        "created"
    ]
