"""The sweep in batches: one event and the right notices per ticket, a fixed number of queries
per batch, the same result as the row-by-row path, and a failed batch redone ticket by ticket."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sla import services as sla
from sla.sweep import claim_queryset, sweep_once
from tests.conftest import CHINA, requires_postgres, run_together, walk
from tickets import hooks
from tickets.models import StaffNotification, Ticket, TicketEvent
from tickets.services.sla_events import (
    BATCH_READ_FIELDS,
    STEP_FIELDS,
    sla_event_handle,
    sla_events_handle_batch,
)

# Tuesday 2026-05-12 10:00 in Shanghai: an ordinary working week.
T0 = dt.datetime(2026, 5, 12, 10, 0, tzinfo=CHINA)


def at(*, days: int = 0, hours: float = 0, minutes: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours, minutes=minutes)


def sweep_at(moment: dt.datetime, **options: Any) -> Any:
    with time_machine.travel(moment, tick=False):
        return sweep_once(**options)


def sla_events(ticket: Ticket) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind__startswith="sla_")
        .order_by("id")
        .values_list("kind", flat=True)
    )


def notified(ticket: Ticket, kind: str) -> Counter[str]:
    return Counter(
        StaffNotification.objects.filter(ticket=ticket, kind=kind).values_list(
            "recipient__username", flat=True
        )
    )


def mixed(make_ticket: Any, cast: Any, departments: Any, n: int, start: dt.datetime) -> list[Any]:
    """``n`` consult tickets received at ``start``: every other one left new (no department:
    the dispatchers hear of it), the rest taken on by handler_a of bureau A (handler_a and
    supervisor_a hear of it)."""
    tickets = []
    with time_machine.travel(start, tick=False):
        for index in range(n):
            ticket = make_ticket(request_type="consult")
            if index % 2:
                ticket = walk(ticket, cast, departments, "in_progress")
            tickets.append(ticket)
    return tickets


def test_it_writes_one_event_of_each_due_kind_and_the_right_notices_per_ticket(
    make_ticket, cast, departments
):
    tickets = mixed(make_ticket, cast, departments, 12, T0)
    # Thursday 00:00:01: the new ones are past the ack warning, the breach and Wednesday's
    # 09:00 reminder; the ones in progress have their resolution warning (due Thursday).
    report = sweep_at(at(days=1, hours=14, minutes=0.02), batch_size=5)
    assert report.handled == {
        "ack_warning": 6,
        "ack_breach": 6,
        "reminder": 6,
        "resolve_warning": 6,
    }
    assert report.failed == []
    for ticket in tickets:
        row = Ticket.objects.get(pk=ticket.pk)
        if ticket.state == "new":
            assert sla_events(ticket) == ["sla_warning", "sla_breach", "sla_reminder"]
            for kind in ("sla_warning", "sla_breach", "sla_reminder"):
                assert notified(ticket, kind) == {"dispatcher": 1}
            assert row.ack_warned and row.ack_breached and row.supervised
            assert row.ack_on_time is False
            assert row.last_reminder_at == at(days=1, hours=14, minutes=0.02)
            assert row.sla_next_kind == "reminder"
            assert row.sla_next_at == dt.datetime(2026, 5, 15, 9, 0, tzinfo=CHINA)
        else:
            assert sla_events(ticket) == ["sla_warning"]
            assert notified(ticket, "sla_warning") == {"handler_a": 1, "supervisor_a": 1}
            assert row.resolve_warned and not row.resolve_breached and not row.supervised
            assert row.sla_next_kind == "resolve_breach"
            assert row.sla_next_at == dt.datetime(2026, 5, 14, 23, 59, 59, tzinfo=CHINA)
        assert row.updated_at == at(days=1, hours=14, minutes=0.02)
        assert row.version == ticket.version  # the sweep is not an edit a page must reload for
    warning = TicketEvent.objects.filter(ticket=tickets[0], kind="sla_warning").get()
    assert (warning.actor_id, warning.actor_label) == (None, "时限监控")
    assert (warning.from_state, warning.to_state) == ("new", "new")
    assert warning.payload == {
        "clock": "ack",
        "due_at": warning.payload["due_at"],
        "cycle": 0,
        "sla_kind": "ack_warning",
    }
    assert dt.datetime.fromisoformat(warning.payload["due_at"]) == tickets[0].ack_due_at
    notice = StaffNotification.objects.get(ticket=tickets[0], kind="sla_breach")
    assert notice.text == f"受理已超时：工单 {tickets[0].case_no}（受理时限 05-12 10:30）"
    assert sweep_at(at(days=1, hours=14, minutes=1)).handled == {}


def statement_count(queries: CaptureQueriesContext) -> int:
    """Statements run, one INSERT of many rows counted once: SQLite caps a statement at 999
    parameters, so there Django sends a long INSERT in batches (the events' INSERT, with the
    ticket stamped on each event, passes that cap at about 80 events)."""
    statements = [query["sql"] for query in queries.captured_queries]
    return sum(
        1
        for index, sql in enumerate(statements)
        if not (index and sql.startswith("INSERT") and sql[:40] == statements[index - 1][:40])
    )


@pytest.mark.parametrize("n", [5, 50])
def test_a_pass_takes_the_same_number_of_queries_for_5_or_50_due_tickets(
    make_ticket, cast, departments, n
):
    tickets = mixed(make_ticket, cast, departments, n, T0)
    moment = at(days=1, hours=14, minutes=0.02)
    sla.calendar_load(start=moment.date(), days=1)  # the reference tables' snapshot, if kept
    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as queries:
        report = sweep_once()
    assert sum(report.handled.values()) == 4 * (n // 2) + n % 2 * 3
    # The batch's savepoint, its claim, the calendar (two reads, unless a snapshot is kept),
    # the tickets' UPDATE, the events' INSERT, the recipients, the notices' INSERT and the
    # release; then the empty claim, in its savepoint, that ends the pass. 5 or 50 alike.
    assert statement_count(queries) <= 12, "\n".join(
        q["sql"][:120] for q in queries.captured_queries
    )
    assert TicketEvent.objects.filter(kind__startswith="sla_").count() == sum(
        report.handled.values()
    )
    assert len({ticket.pk for ticket in tickets}) == n


def test_the_query_count_does_not_grow_with_the_batch(make_ticket, cast, departments):
    def count(n: int, start: dt.datetime) -> int:
        tickets = mixed(make_ticket, cast, departments, n, start)
        moment = start + dt.timedelta(days=1, hours=14, minutes=0.02)
        with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as q:
            report = sweep_once()
        assert sum(report.handled.values()) == 4 * (n // 2) + n % 2 * 3
        # Out of the way of the next pass (their reminders would be due again).
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(sla_next_at=None)
        return statement_count(q)

    sla.calendar_load(start=T0.date(), days=1)
    # The same weekday a week apart, so both passes meet the same clocks.
    assert count(5, T0) == count(50, T0 + dt.timedelta(days=7))


def _snapshot(ticket_id: int) -> dict[str, Any]:
    """What the sweep wrote for a ticket, without what differs between two tickets."""
    ticket = Ticket.objects.get(pk=ticket_id)
    return {
        "fields": {name: getattr(ticket, name) for name in STEP_FIELDS},
        "version": ticket.version,
        "events": [
            (e.kind, e.actor_id, e.actor_label, e.from_state, e.to_state, e.payload, e.created_at)
            for e in TicketEvent.objects.filter(ticket=ticket, kind__startswith="sla_").order_by(
                "id"
            )
        ],
        "notices": sorted(
            (n.recipient_id, n.kind, n.text.replace(ticket.case_no, "#"), n.created_at)
            for n in StaffNotification.objects.filter(ticket=ticket)
        ),
    }


SCENARIOS = {
    # name: (state to walk to, passes before, the moment compared)
    "ack warning": ("new", [], at(minutes=20)),
    "ack breach": ("new", [at(minutes=20)], at(minutes=30)),
    "ack reminder": ("new", [at(minutes=30)], at(days=1, hours=-1)),
    "resolve warning": ("in_progress", [], at(days=1, hours=14)),
    "resolve breach": ("in_progress", [at(days=1, hours=14)], at(days=2, hours=14)),
    "resolve reminder": ("in_progress", [at(days=2, hours=14)], at(days=2, hours=23)),
    "stale row": ("new", ["stale"], at(minutes=15)),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_batch_writes_exactly_what_the_row_by_row_path_writes(
    make_ticket, cast, departments, scenario
):
    state, before, moment = SCENARIOS[scenario]
    with time_machine.travel(T0, tick=False):
        pair = [walk(make_ticket(request_type="consult"), cast, departments, state) for _ in "ab"]
    for earlier in before:
        if earlier == "stale":
            # A hand-edited (or half-written) row: it says the warning is due earlier than
            # the clocks do. The sweep only corrects it.
            Ticket.objects.filter(pk__in=[t.pk for t in pair]).update(sla_next_at=at(minutes=10))
        else:
            sweep_at(earlier)
    batch, single = pair
    with time_machine.travel(moment, tick=False), transaction.atomic():
        locked = list(claim_queryset(moment, set()).filter(pk=batch.pk).only(*BATCH_READ_FIELDS))
        outcome = sla_events_handle_batch(tickets=locked, now=moment)
        ticket = claim_queryset(moment, set()).get(pk=single.pk)
        kind = sla_event_handle(ticket=ticket, now=moment)
    assert outcome.failed == []
    assert outcome.handled == ([kind] if kind else [])
    if scenario == "stale row":
        assert kind == "" and Ticket.objects.get(pk=batch.pk).sla_next_at == at(minutes=20)
        assert Ticket.objects.get(pk=batch.pk).updated_at == batch.updated_at  # not an edit
    else:
        assert kind
    assert _snapshot(batch.pk) == _snapshot(single.pk)


def test_a_ticket_whose_data_cannot_be_handled_is_skipped_and_the_batch_goes_on(
    make_ticket, caplog
):
    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket() for _ in range(4)]
    bad = tickets[1]
    Ticket.objects.filter(pk=bad.pk).update(resolve_basis={"start": "not a date"})
    report = sweep_at(at(minutes=21))
    assert report.failed == [bad.pk]
    assert report.handled == {"ack_warning": 3}
    assert f"SLA sweep: ticket {bad.pk} failed" in caplog.text
    for ticket in tickets:
        assert sla_events(ticket) == ([] if ticket == bad else ["sla_warning"])
    assert Ticket.objects.get(pk=bad.pk).sla_next_at == at(minutes=20)  # left as it was


def test_a_batch_that_fails_to_write_is_redone_ticket_by_ticket(make_ticket, cast, caplog):
    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket() for _ in range(5)]
    bad = tickets[2]

    def refuse(event: TicketEvent) -> None:  # e.g. an integration's outbox row that fails
        if event.ticket_id == bad.pk and event.kind == "sla_warning":
            raise RuntimeError("outbox row refused")

    hooks.register_event_hook(refuse)
    try:
        report = sweep_at(at(minutes=21))
    finally:
        hooks._HOOKS.remove(refuse)
    assert report.failed == [bad.pk]
    assert report.handled == {"ack_warning": 4}
    assert "handling it ticket by ticket" in caplog.text
    assert f"SLA sweep: ticket {bad.pk} failed" in caplog.text
    for ticket in tickets:
        assert sla_events(ticket) == ([] if ticket == bad else ["sla_warning"])
        assert notified(ticket, "sla_warning") == ({} if ticket == bad else {"dispatcher": 1})
    # The next pass tries the bad ticket again (its row was rolled back, still due).
    assert Ticket.objects.get(pk=bad.pk).sla_next_kind == "ack_warning"
    assert sweep_at(at(minutes=22)).handled == {"ack_warning": 1}


def test_it_runs_the_event_hooks_for_every_event_of_a_batch(make_ticket):
    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket() for _ in range(3)]
    seen: list[tuple[int, str, int | None, str]] = []

    def note(event: TicketEvent) -> None:
        seen.append((event.ticket_id, event.kind, event.pk, event.ticket.case_no))

    hooks.register_event_hook(note)
    try:
        sweep_at(at(minutes=31))
    finally:
        hooks._HOOKS.remove(note)
    expected = list(
        TicketEvent.objects.filter(kind__startswith="sla_")
        .order_by("id")
        .values_list("ticket_id", "kind", "pk", "ticket__case_no")
    )
    assert sorted(seen) == sorted(expected)
    assert len(expected) == 2 * len(tickets)


def test_a_limit_stops_the_pass_after_that_many_tickets(make_ticket):
    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket() for _ in range(7)]
    report = sweep_at(at(minutes=21), limit=5, batch_size=2)
    assert report.handled == {"ack_warning": 5}
    assert [bool(sla_events(ticket)) for ticket in tickets] == [True] * 5 + [False] * 2


@requires_postgres
def test_the_batch_claim_uses_the_partial_index(make_ticket):
    with time_machine.travel(T0, tick=False):
        make_ticket()
    queryset = claim_queryset(at(minutes=21), {1, 2}).only(*BATCH_READ_FIELDS)[:500]
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_sla_next" in plan, plan
    assert "SKIP LOCKED" in sql


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_three_sweepers_in_small_batches_write_every_event_exactly_once(make_ticket, cast):
    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket() for _ in range(60)]
    with time_machine.travel(at(minutes=31), tick=False):
        reports = run_together(*[lambda: sweep_once(batch_size=7)] * 3)
    total = sum((report.handled for report in reports), start=Counter())
    assert total == {"ack_warning": 60, "ack_breach": 60}
    assert all(report.failed == [] for report in reports)
    for ticket in tickets:
        assert sla_events(ticket) == ["sla_warning", "sla_breach"]
        assert notified(ticket, "sla_breach") == {"dispatcher": 1}
