"""A deadline counted across a year whose holiday schedule is not out yet says "未确认" wherever
a person reads it: the inbox row, the staff ticket page and the citizen's look-up; and it stops
saying so once the year is imported."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import time_machine
from django.test import Client

from sla import services as sla
from sla.calendar_import import CalendarEntry
from tests.conftest import CHINA, walk
from tickets.models import Ticket
from tickets.services.clocks import deadlines_recompute_unconfirmed

TODAY = dt.datetime(2026, 12, 4, 10, 0, tzinfo=CHINA)


def row(body: str, ticket: Ticket) -> str:
    match = re.search(rf'<tr id="ticket-{ticket.pk}".*?</tr>', body, re.S)
    assert match is not None
    return match.group(0)


def citizen_page(ticket: Ticket) -> str:
    client = Client()
    response = client.post(
        "/track/", {"case_no": ticket.case_no, "query_code": ticket.query_code}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def staff_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_marks_an_unconfirmed_deadline_in_the_inbox_ticket_page_and_citizen_page(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    with time_machine.travel(TODAY, tick=False):
        late = walk(make_ticket(request_type="complaint"), cast, departments, "in_progress")
        from tickets.services.extensions import (
            ticket_extension_decide,
            ticket_extension_request,
        )

        extension = ticket_extension_request(
            actor=cast["handler_a"], ticket_id=late.pk, days=10, reason="需要协调燃气公司"
        )
        ticket_extension_decide(actor=cast["supervisor_a"], request_id=extension.pk, approve=True)
        soon = walk(make_ticket(request_type="consult"), cast, departments, "assigned")
    late.refresh_from_db()
    assert late.calendar_confirmed is False and late.resolve_due_at.year == 2027
    assert soon.calendar_confirmed is True

    staff = staff_client(cast["dispatcher"])
    with time_machine.travel(TODAY, tick=False):
        queue = staff.get("/inbox/").content.decode()
        late_page = staff.get(f"/inbox/tickets/{late.case_no}/").content.decode()
        soon_page = staff.get(f"/inbox/tickets/{soon.case_no}/").content.decode()
        late_citizen, soon_citizen = citizen_page(late), citizen_page(soon)
    assert "未确认" in row(queue, late)
    assert "未确认" not in row(queue, soon)
    assert re.search(r"办结时限</dt><dd>2027-01-11 23:59.*?未确认", late_page)
    assert "未确认" not in soon_page
    assert re.search(
        r"办结期限</dt><dd>2027-01-11.*?未确认.*?2027 年放假安排公布后可能调整", late_citizen
    )
    assert "未确认" not in soon_citizen

    # The schedule comes out: the deadline is recomputed and confirmed everywhere.
    sla.calendar_replace_years(
        entries=[CalendarEntry(date=dt.date(2027, 1, 1), is_workday=False, name="元旦")],
        source="import:2027.csv",
    )
    assert [case for case, _b, _a in deadlines_recompute_unconfirmed()] == []  # same day
    with time_machine.travel(TODAY, tick=False):
        queue = staff.get("/inbox/").content.decode()
        late_page = staff.get(f"/inbox/tickets/{late.case_no}/").content.decode()
        late_citizen = citizen_page(late)
    assert "未确认" not in row(queue, late)
    assert "未确认" not in late_page
    assert "未确认" not in late_citizen
    assert Ticket.objects.get(pk=late.pk).calendar_confirmed is True


def test_a_new_case_that_is_not_yet_acknowledged_shows_no_mark_on_its_ack_clock(
    make_ticket: Any, cast: dict
) -> None:
    # Its row counts down to the 30-minute acknowledgement, which no calendar affects.
    with time_machine.travel(dt.datetime(2026, 12, 20, 11, 0, tzinfo=CHINA), tick=False):
        fresh = make_ticket(request_type="complaint")
        fresh.refresh_from_db()
        assert fresh.calendar_confirmed is False
        body = staff_client(cast["dispatcher"]).get("/inbox/").content.decode()
    assert "受理" in row(body, fresh) and "未确认" not in row(body, fresh)
