"""The leadership pages in a real browser (Debian's chromium via Playwright, against
config.asgi served by uvicorn in a thread, as the inbox's browser tests do): the dashboard
opens on the last complete month with its charts drawn, the workload view, and what a
supervisor and a handler may and may not open. Screenshots go to test-artifacts/dashboards/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from dashboards.values import CHINA, Period
from tests.browser import browser_marks, in_thread
from tickets.models import Ticket

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "dashboards"

pytestmark = browser_marks


class Shots:
    def __init__(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.name, self.count = name, 0

    def take(self, page: Any, what: str) -> None:
        self.count += 1
        path = ARTIFACTS / f"{self.name}-{self.count:02d}-{what}.png"
        page.screenshot(path=str(path), full_page=True)


def sign_in(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/inbox/login/?next=/dashboards/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboards/")
    return page


@pytest.fixture
def last_month(case: Any) -> Period:
    """Cases of the last complete month (as the server's clock sees it): bureaus a and b
    with enough cases to be ranked, a section and an unassigned case; some still open."""
    period = Period.month_of(timezone.now()).previous_month()
    first = period.start.astimezone(CHINA).date()

    def day(offset: int, time: str = "09:00") -> str:
        return f"{first + dt.timedelta(days=offset):%Y-%m-%d} {time}"

    for number in range(12):
        replies = (day(number + 1, "15:00"),) if number % 4 != 3 else ()
        case(day(number), dept="a", category="lights", request_type="consult",
             ack=day(number, "09:10"), replies=replies,
             feedback=((day(number + 2), "satisfied", True),) if replies else ())  # fmt: skip
    for number in range(11):
        replies = (day(number + 5, "15:00"),) if number % 3 else ()
        case(day(number), dept="b", category="housing", request_type="consult",
             ack=day(number, "09:40"), replies=replies)  # fmt: skip
    case(day(3), dept="a1", category="lights", ack=day(3, "09:05"), replies=(day(4),))
    case(day(5), channel="weibo")
    return period


def test_it_shows_leadership_last_month_with_charts_and_the_workload(
    live_asgi: str,
    cast: dict[str, Any],
    last_month: Period,
    browser: Any,
) -> None:
    shots = Shots("leadership")
    page = sign_in(browser, live_asgi, "leadership")
    assert page.input_value("input[name=month]") == last_month.key
    assert last_month.label in page.inner_text(".period")
    assert "全市" in page.inner_text(".period")
    page.wait_for_selector("#chart-departments svg")
    page.wait_for_selector("#chart-trend svg")
    league = page.inner_text("table.league")
    assert "城管局" in league and "住建局" in league and "样本不足" in league
    shots.take(page, "dashboard-last-complete-month")

    page.click("nav >> text=工作量")
    page.wait_for_url(f"{live_asgi}/dashboards/workload/")
    rows = page.locator("table.workload-departments tbody tr")
    assert rows.count() >= 6
    open_now = in_thread(
        lambda: Ticket.objects.filter(
            state__in=["new", "acknowledged", "assigned", "in_progress", "waiting_citizen"]
        ).count()
    )
    total = page.locator("tr[data-department=total] td").all_inner_texts()
    assert total[0] == "合计" and int(total[1]) == open_now
    shots.take(page, "workload-citywide")


def test_it_keeps_supervisors_and_handlers_to_their_own_departments(
    live_asgi: str,
    cast: dict[str, Any],
    departments: dict[str, Any],
    last_month: Period,
    browser: Any,
) -> None:
    shots = Shots("scopes")
    supervisor = sign_in(browser, live_asgi, "supervisor_a")
    options = supervisor.locator("select[name=department] option").all_inner_texts()
    assert options == ["城管局（含下级）", "市容科"]
    assert "城管局（含下级部门）" in supervisor.inner_text(".period")
    shots.take(supervisor, "supervisor-own-dashboard")
    supervisor.select_option("select[name=department]", label="市容科")
    supervisor.click("form.pickers button[type=submit]")
    supervisor.wait_for_url(f"**department={departments['a1'].pk}**")
    assert "市容科（含下级部门）" in supervisor.inner_text(".period")
    shots.take(supervisor, "supervisor-picks-a-section")
    response = supervisor.goto(f"{live_asgi}/dashboards/?department={departments['b'].pk}")
    assert response is not None and response.status == 403
    assert "您只能查看本部门（城管局）及下级部门的看板。" in supervisor.inner_text("main")
    shots.take(supervisor, "supervisor-refused-another-bureau")

    handler = sign_in(browser, live_asgi, "handler_a")
    assert handler.locator("select[name=department]").count() == 0
    assert "部门：城管局" in handler.inner_text("form.pickers")
    shots.take(handler, "handler-own-dashboard")
    response = handler.goto(f"{live_asgi}/dashboards/?department={departments['a1'].pk}")
    assert response is not None and response.status == 403
    assert "您只能查看本部门（城管局）的看板。" in handler.inner_text("main")
    shots.take(handler, "handler-refused-another-department")
    handler.goto(f"{live_asgi}/dashboards/workload/")
    assert "我的工作量" in handler.inner_text("main")
    names = handler.locator("table.workload-handlers tbody td:first-child").all_inner_texts()
    assert names == ["handler_a"]
    shots.take(handler, "handler-own-workload")
