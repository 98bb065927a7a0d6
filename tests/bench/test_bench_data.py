"""The bench data generator, tiny: the rows it writes are tickets the rest of the code can read."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from tickets.management.commands.bench_data import DUE_MARK, bench_prime_due, month_bounds
from tickets.models import OPEN_STATES, Department, Feedback, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _generate() -> None:
    call_command("bench_data", tickets=50, month_tickets=20, departments=5, due=3, verbosity=0)


def test_it_writes_tickets_with_events_across_months_and_states() -> None:
    _generate()
    tickets = Ticket.objects.filter(case_no__startswith="BN")
    assert tickets.count() == 50
    assert Department.objects.filter(code__startswith="bn-").count() == 5
    start, end = month_bounds(timezone.now())
    assert tickets.filter(received_at__gte=start, received_at__lt=end).count() == 20
    assert TicketEvent.objects.filter(ticket__in=tickets, kind="created").count() == 50
    assert tickets.values("state").distinct().count() >= 3
    for ticket in tickets.filter(state="closed"):
        assert ticket.acknowledged_at is not None
        assert ticket.first_replied_at is not None
        assert ticket.closed_at is not None
    assert not tickets.exclude(state__in=OPEN_STATES).exclude(sla_next_at=None).exists()
    assert Feedback.objects.filter(ticket__in=tickets, ticket__state="closed").count() == (
        Feedback.objects.filter(ticket__in=tickets).count()
    )


def test_it_makes_exactly_the_due_tickets_due_for_the_sweep() -> None:
    _generate()
    now = timezone.now()
    assert bench_prime_due(now=now) == 3
    due = Ticket.objects.filter(sla_next_at__lte=now)
    assert due.count() == 3
    assert set(due.values_list("channel_account", "state")) == {(DUE_MARK, "new")}


def test_it_skips_generation_when_the_data_is_already_there() -> None:
    _generate()
    first_ids = set(Ticket.objects.values_list("pk", flat=True))
    call_command(
        "bench_data",
        tickets=50,
        month_tickets=20,
        departments=5,
        due=3,
        if_missing=True,
        verbosity=0,
    )
    assert set(Ticket.objects.values_list("pk", flat=True)) == first_ids
