""" "未确认" in a real browser: a deadline an extension moved into 2027 (whose holiday schedule
is not out yet) is marked in the dispatcher's queue, on the ticket page and on the citizen's
look-up. Screenshots go to test-artifacts/sla/."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from tests.browser import browser_marks, sign_in
from tests.conftest import walk
from tickets.models import Ticket
from tickets.services.extensions import ticket_extension_decide, ticket_extension_request

ARTIFACTS = settings.BASE_DIR / "test-artifacts" / "sla"

pytestmark = browser_marks


@pytest.fixture
def extended(make_ticket: Any, cast: dict, departments: dict) -> Ticket:
    """A complaint due 2026-12-25 of today's calendar, extended by 10 working days (into 2027).

    Extensions must come before the deadline: the case is received now, whatever day it is."""
    ticket = walk(
        make_ticket("和平街道建设路燃气管道漏气，要求彻底检修。", request_type="complaint"),
        cast,
        departments,
        "in_progress",
    )
    extension = ticket_extension_request(
        actor=cast["handler_a"], ticket_id=ticket.pk, days=10, reason="需要协调燃气公司"
    )
    ticket_extension_decide(actor=cast["supervisor_a"], request_id=extension.pk, approve=True)
    ticket.refresh_from_db()
    return ticket


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_it_marks_an_unconfirmed_deadline_for_staff_and_the_citizen(
    live_asgi: str,
    extended: Ticket,
    browser: Any,
) -> None:
    if extended.calendar_confirmed:
        pytest.skip("the calendar already covers the extended deadline's year")
    due = f"{extended.resolve_due_at:%Y}"
    dispatcher = sign_in(browser, live_asgi, "dispatcher")
    row = dispatcher.locator("tr.ticket-row", has_text=extended.case_no)
    row.wait_for()
    mark = row.locator(".unconfirmed")
    assert mark.inner_text() == "未确认"
    assert "放假安排尚未导入" in (mark.get_attribute("title") or "")
    shot(dispatcher, "unconfirmed-01-queue")

    dispatcher.goto(f"{live_asgi}/inbox/tickets/{extended.case_no}/")
    facts = dispatcher.locator("dd", has=dispatcher.locator(".unconfirmed"))
    assert "未确认" in facts.inner_text() and due in facts.inner_text()
    shot(dispatcher, "unconfirmed-02-ticket-page")

    citizen = browser.new_context(locale="zh-CN").new_page()
    citizen.goto(f"{live_asgi}/track/")
    citizen.fill("input[name=case_no]", extended.case_no)
    citizen.fill("input[name=query_code]", extended.query_code_display.lower())
    citizen.click("button[type=submit]")
    citizen.wait_for_selector(".unconfirmed")
    text = citizen.inner_text(".facts")
    assert "未确认" in text and f"{due} 年放假安排公布后可能调整" in text
    shot(citizen, "unconfirmed-03-citizen-look-up")
