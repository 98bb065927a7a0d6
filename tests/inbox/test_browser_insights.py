"""Hot issues and routing suggestions in a real browser (Playwright + Debian's chromium, the
live server of tests/browser.py). Screenshots go to test-artifacts/inbox/insights-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import Step, browser_marks, in_thread, sign_in
from tests.inbox.test_browser import file_case
from tests.tickets.test_suggest_services import HOUSING, LIGHTS, _answered
from tickets.hotspots.services import hotspots_refresh
from tickets.models import CaseLink, State, Ticket
from tickets.suggest import selectors as suggest_selectors
from tickets.suggest.services import routing_train

# The live server, the browser and the skip-without-chromium marks of the inbox's browser test.
pytestmark = browser_marks


@pytest.fixture(autouse=True)
def _forget_the_filing_rate() -> Any:
    """These tests file a dozen website cases from 127.0.0.1 (under the live server's raised
    limit); the per-address count lives in the default cache and would throttle later tests
    that run with the default 10 an hour."""
    from django.core.cache import caches

    yield
    for alias in caches:
        caches[alias].clear()


PIPE = [
    ("幸福小区水管爆了", "幸福小区3栋楼下水管爆了，水哗哗往外冒，路都淹了"),
    ("幸福小区供水管破裂", "幸福小区供水管道破裂，大量自来水外涌，请尽快抢修"),
    ("幸福小区自来水管爆裂", "幸福小区门口自来水管爆裂，水漫了半条路"),
    ("幸福小区水管还在漏", "幸福小区的水管破了两个多小时了还没人来修"),
]


def test_it_gathers_a_hot_issue_with_one_click_and_suggests_where_a_new_case_goes(
    live_asgi: str,
    cast: dict[str, Any],
    categories: Any,
    departments: dict[str, Any],
    make_ticket: Any,
    browser: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    step = Step("insights")
    monkeypatch.setattr(suggest_selectors, "_loaded", {"pk": None, "weights": None})

    def history() -> str:
        # What the model learns from: street-light cases went to 城管局, estate cases to 住建局
        # (answered, so none of them is waiting in the hot-issue panel).
        for round_ in range(4):
            for text in LIGHTS:
                _answered(make_ticket, cast, departments, f"{text}{round_}", "a")
            for text in HOUSING:
                _answered(make_ticket, cast, departments, f"{text}{round_}", "b")
        return routing_train().status

    assert in_thread(history) == "ready"
    burst = [file_case(live_asgi, title, text, "housing") for title, text in PIPE]
    file_case(live_asgi, "咨询入学", "孩子今年上小学，请问对口学校是哪所", "housing")
    assert in_thread(lambda: hotspots_refresh().issues) >= 1

    dispatcher = sign_in(browser, live_asgi, "dispatcher")
    panel = dispatcher.locator("#hotspots")
    panel.wait_for()
    assert panel.locator(".hot-issue").count() == 1  # the answered history waits for nobody
    assert "4 件" in panel.inner_text()
    assert burst[0] in panel.locator(".hot-lead").inner_text()
    step.shot(dispatcher, "hot-issue-panel")

    panel.locator("button[data-hot=merge]").click()
    dispatcher.wait_for_selector("#bulk-results")
    results = dispatcher.inner_text("#bulk-results")
    assert f"热点合并到主案 {burst[0]}" in results
    assert results.count("✓") == 3
    assert "暂无需要处理的热点" in dispatcher.inner_text("#hotspots")
    step.shot(dispatcher, "merged-with-one-click")
    states = in_thread(
        lambda: dict(Ticket.objects.filter(case_no__in=burst).values_list("case_no", "state"))
    )
    assert states == {burst[0]: State.NEW} | {case: State.MERGED for case in burst[1:]}

    # A new case: the ticket page suggests the department, with two next choices.
    case_no = file_case(live_asgi, "路灯不亮", "我家楼下的路灯坏了好几天，晚上黑漆漆的", "lights")
    dispatcher.goto(f"{live_asgi}/inbox/tickets/{case_no}/")
    card = dispatcher.locator("#suggestion")
    card.wait_for()
    names = card.locator(".choices").first.locator(".choice-name").all_inner_texts()
    assert names[0] == "城管局" and "住建局" in names[1:]
    assert re.search(r"\d+%", card.inner_text())
    step.shot(dispatcher, "routing-suggestion")
    dispatcher.click("button[data-action=acknowledge]")
    dispatcher.wait_for_selector(".flash-success")
    dispatcher.locator("#suggestion button[data-suggest=department]").first.click()
    assign = dispatcher.locator("details.action-assign")
    assert assign.get_attribute("open") is not None
    picked = assign.locator("select[name=department]").input_value()
    assert picked == str(departments["a"].pk)
    step.shot(dispatcher, "suggestion-fills-the-assign-form")
    assign.locator("button[type=submit]").click()
    dispatcher.wait_for_selector(".flash-success")
    assert dispatcher.inner_text("#ticket-state") == "已派单"


def test_it_links_a_hot_issue_under_its_lead_case(
    live_asgi: str, cast: dict[str, Any], categories: Any, browser: Any
) -> None:
    step = Step("insights-link")
    burst = [file_case(live_asgi, title, text, "housing") for title, text in PIPE[:3]]
    assert in_thread(lambda: hotspots_refresh().issues) == 1
    dispatcher = sign_in(browser, live_asgi, "dispatcher")
    dispatcher.locator("#hotspots button[data-hot=link]").click()
    dispatcher.wait_for_selector("#bulk-results")
    assert dispatcher.inner_text("#bulk-results").count("✓") == 2
    linked = in_thread(lambda: set(CaseLink.objects.values_list("ticket__case_no", flat=True)))
    assert linked == set(burst[1:])
    dispatcher.goto(f"{live_asgi}/inbox/tickets/{burst[0]}/")
    assert "关联到本案的工单（2 件）" in dispatcher.inner_text("#linked-cases")
    step.shot(dispatcher, "lead-case-with-linked-cases")
    # Leadership sees it among the week's top issues, its lead case named.
    assert in_thread(lambda: hotspots_refresh().issues) == 1
    leader = sign_in(browser, live_asgi, "leadership")
    leader.goto(f"{live_asgi}/dashboards/")
    hot = leader.locator("#hot-issues")
    hot.wait_for()
    text = hot.inner_text()
    assert "近7天热点问题" in text and f"主案 {burst[0]}" in text
    hot.scroll_into_view_if_needed()
    step.shot(leader, "dashboard-top-issues-of-the-week")
