"""Importing next year's official schedule and recomputing unconfirmed deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from sla.calendar_import import CalendarFileError, parse_calendar_file
from sla.models import CalendarYear, WorkingDay
from tests.conftest import CHINA
from tickets.models import Ticket, TicketEvent

SCHEDULE_2027 = """date,type,name
2027-01-01,rest,元旦
2027-01-04,rest,元旦调休
2027-01-05,rest,元旦调休
2027-01-10,work,调休上班
2027-03-01,rest,假日
"""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"date,type\n2027-13-01,rest\n", "第 2 行"),
        (b"date,type\n2027-01-01,maybe\n", "work"),
        (b"day,kind\n2027-01-01,rest\n", "表头"),
        (b'[{"date": "2027-01-01"}]', "类型"),
        (b"[1, 2]", "第 1 项"),
        (b"\xff\xfe", "UTF-8"),
        (b"date,type\n", "没有任何日期"),
        (b"date,type\n2027-01-01,rest\n2027-01-01,work\n", "多次"),
    ],
)
def test_it_rejects_a_bad_file_naming_the_problem(data, message):
    with pytest.raises(CalendarFileError, match=message):
        parse_calendar_file(data)


def test_it_reads_json_with_booleans():
    entries = parse_calendar_file(
        b'[{"date": "2027-01-01", "workday": false, "name": "\xe5\x85\x83\xe6\x97\xa6"}]'
    )
    assert entries[0].date == dt.date(2027, 1, 1) and entries[0].is_workday is False


def test_importing_a_year_recomputes_unconfirmed_open_deadlines(make_ticket, tmp_path, capsys):
    # The worked example: a complaint on 2026-12-20 is due 2027-01-11 before the schedule is
    # known (the plain rule, with 元旦 on 01-01 as in every year).
    with time_machine.travel(dt.datetime(2026, 12, 20, 11, 0, tzinfo=CHINA), tick=False):
        ticket = make_ticket(request_type="complaint")
        confirmed = make_ticket(request_type="consult")
    assert ticket.calendar_confirmed is False
    assert ticket.resolve_due_at == dt.datetime(2027, 1, 11, 23, 59, 59, tzinfo=CHINA)
    assert confirmed.calendar_confirmed is True
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    call_command("calendar_import", str(path))
    out = capsys.readouterr().out
    assert "2027" in out and ticket.case_no in out
    assert CalendarYear.objects.filter(year=2027).exists()
    # 2027-01-10 (a Sunday) is a working day; 01-01 (Fri), 01-04 and 01-05 are holidays.
    assert set(WorkingDay.objects.filter(date__year=2027).values_list("date", "is_workday")) == {
        (dt.date(2027, 1, 1), False),
        (dt.date(2027, 1, 4), False),
        (dt.date(2027, 1, 5), False),
        (dt.date(2027, 1, 10), True),
        (dt.date(2027, 3, 1), False),
    }
    ticket = Ticket.objects.get(pk=ticket.pk)
    # Dec 21-25 (5), Dec 28-31 (4), Jan 6-8 (3), Jan 10 (Sunday make-up), Jan 11, Jan 12: 15th.
    assert ticket.resolve_due_at == dt.datetime(2027, 1, 12, 23, 59, 59, tzinfo=CHINA)
    assert ticket.calendar_confirmed is True
    event = TicketEvent.objects.get(ticket=ticket, kind="deadline_recomputed")
    assert event.payload["resolve_due_before"].startswith("2027-01-11")
    assert not TicketEvent.objects.filter(ticket=confirmed, kind="deadline_recomputed").exists()


def test_importing_a_year_recomputes_a_deadline_an_extension_moved_into_it(
    make_ticket, cast, departments, tmp_path
):
    """The incident of issue 17: an extension landed in 2027 before its schedule was known."""
    from tests.conftest import walk
    from tickets.services.extensions import ticket_extension_decide, ticket_extension_request

    today = dt.datetime(2026, 12, 4, 10, 0, tzinfo=CHINA)
    with time_machine.travel(today, tick=False):
        ticket = walk(make_ticket(request_type="complaint"), cast, departments, "in_progress")
        # 15 working days: 12-25, inside the known calendar.
        assert (ticket.resolve_due_at, ticket.calendar_confirmed) == (
            dt.datetime(2026, 12, 25, 23, 59, 59, tzinfo=CHINA),
            True,
        )
        extension = ticket_extension_request(
            actor=cast["handler_a"], ticket_id=ticket.pk, days=10, reason="需要协调燃气公司"
        )
        ticket_extension_decide(actor=cast["supervisor_a"], request_id=extension.pk, approve=True)
    ticket.refresh_from_db()
    # Dec 28-31 (4), 元旦 skipped, Jan 4-8 (9), Jan 11 (10): counted by the plain rule.
    assert ticket.resolve_due_at == dt.datetime(2027, 1, 11, 23, 59, 59, tzinfo=CHINA)
    assert ticket.calendar_confirmed is False
    assert ticket.resolve_basis["extra_days"] == 10

    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    with time_machine.travel(today + dt.timedelta(days=3), tick=False):
        call_command("calendar_import", str(path))
    ticket.refresh_from_db()
    # 25 working days from 12-04: Dec 7-31 (19), Jan 6-8 (22), Jan 10, 11, 12 (25).
    assert ticket.resolve_due_at == dt.datetime(2027, 1, 12, 23, 59, 59, tzinfo=CHINA)
    assert ticket.calendar_confirmed is True
    # The sweep's next look at it moved with the deadline: the warning at 00:00 on the day.
    assert ticket.sla_next_at == dt.datetime(2027, 1, 12, 0, 0, tzinfo=CHINA)
    assert ticket.sla_next_kind == "resolve_warning"
    event = TicketEvent.objects.get(ticket=ticket, kind="deadline_recomputed")
    assert event.payload["resolve_due_before"].startswith("2027-01-11")
    assert event.payload["resolve_due_after"].startswith("2027-01-12")


def test_a_bad_file_changes_nothing(tmp_path, db):
    path = tmp_path / "bad.csv"
    path.write_text("date,type\n2027-01-01,rest\nnot-a-date,rest\n", encoding="utf-8")
    with pytest.raises(CommandError, match="第 3 行"):
        call_command("calendar_import", str(path))
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not WorkingDay.objects.filter(date__year=2027).exists()
