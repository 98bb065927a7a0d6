"""The inbox in a real browser: Playwright drives Debian's chromium against config.asgi served
by uvicorn in a thread of this process (tests/browser.py). Screenshots of each step go to
test-artifacts/inbox/."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from tests.browser import Step, browser_marks, in_thread, sign_in
from tickets.models import Role, StaffProfile, Ticket

pytestmark = browser_marks


def file_case(base: str, title: str, content: str, category: str = "lights") -> str:
    """A citizen files a case through the website API; answers its case number."""
    body = json.dumps(
        {
            "phone": "13800001234",
            "title": title,
            "content": content,
            "category": category,
            "request_type": "help",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/website/tickets/",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return str(json.loads(response.read())["case_no"])


def row(page: Any, case_no: str) -> Any:
    return page.locator("tr.ticket-row", has_text=case_no)


def test_it_works_a_case_live_from_arrival_to_reply(
    live_asgi: str, cast: dict[str, Any], categories: Any, browser: Any
) -> None:
    step = Step("arrival-to-reply")
    dispatcher = sign_in(browser, live_asgi, "dispatcher")
    handler = sign_in(browser, live_asgi, "handler_a")
    outsider = sign_in(browser, live_asgi, "handler_b")
    step.shot(dispatcher, "dispatcher-queue-empty")
    for page in (dispatcher, handler, outsider):
        page.evaluate("window.__notReloaded = true")

    case_no = file_case(live_asgi, "建设路路灯不亮", "建设路口的路灯坏了一个多星期，晚上很黑。")
    row(dispatcher, case_no).wait_for()
    assert dispatcher.evaluate("window.__notReloaded") is True
    assert "待受理" in row(dispatcher, case_no).inner_text()
    step.shot(dispatcher, "dispatcher-sees-new-case-live")

    row(dispatcher, case_no).locator("td.title a").click()
    dispatcher.wait_for_url(re.compile(rf"/inbox/tickets/{case_no}/$"))
    dispatcher.click("button[data-action=acknowledge]")
    dispatcher.wait_for_selector(".flash-success")
    assert "已受理" in dispatcher.inner_text(".flash")
    step.shot(dispatcher, "dispatcher-acknowledged")
    dispatcher.click("summary[data-action=assign]")
    assign = dispatcher.locator("details.action-assign form")
    assign.locator("select[name=department]").select_option(label="\u3000└ 城管局")  # under 青山区
    assign.locator("button[type=submit]").click()
    dispatcher.wait_for_selector(".flash-success")
    assert dispatcher.inner_text("#ticket-state") == "已派单"
    step.shot(dispatcher, "dispatcher-assigned")

    row(handler, case_no).wait_for()
    assert handler.evaluate("window.__notReloaded") is True
    assert "已派单" in row(handler, case_no).inner_text()
    step.shot(handler, "handler-sees-assignment-live")
    row(handler, case_no).locator("td.title a").click()
    handler.click("button[data-action=accept]")
    handler.wait_for_selector(".flash-success")
    assert handler.inner_text("#ticket-state") == "办理中"
    handler.click("summary[data-action=reply]")
    handler.select_option("select.reply-template", label="路灯已修复")
    text = handler.input_value("#id_reply_content")
    assert case_no in text
    handler.fill("#id_reply_content", text.replace("____", "今天下午"))
    step.shot(handler, "handler-writes-reply")
    handler.locator("details.action-reply button[type=submit]").click()
    handler.wait_for_selector(".flash-success")
    assert handler.inner_text("#ticket-state") == "已答复"
    step.shot(handler, "handler-replied")

    # The other department's handler never saw it, live or after a reload.
    assert row(outsider, case_no).count() == 0
    assert outsider.evaluate("window.__notReloaded") is True
    outsider.reload()
    assert row(outsider, case_no).count() == 0
    assert outsider.goto(f"{live_asgi}/inbox/tickets/{case_no}/").status == 404
    step.shot(outsider, "other-department-never-sees-it")
    assert in_thread(lambda: Ticket.objects.get(case_no=case_no).state) == "replied"


@pytest.fixture
def second_dispatcher(cast: dict[str, Any]) -> Any:
    user = type(cast["dispatcher"]).objects.create_user(
        username="dispatcher2", password="pw-dispatcher2", first_name="王二"
    )
    StaffProfile.objects.create(user=user, role=Role.DISPATCHER)
    return user


def test_it_gives_one_of_two_simultaneous_actions_a_clear_conflict(
    live_asgi: str, cast: dict[str, Any], categories: Any, second_dispatcher: Any, browser: Any
) -> None:
    step = Step("conflict")
    case_no = file_case(
        live_asgi, "小区停水", "小区停水三天了，没有任何通知，请尽快处理。", "housing"
    )
    first_page = sign_in(browser, live_asgi, "dispatcher")
    second_page = sign_in(browser, live_asgi, "dispatcher2")
    for page in (first_page, second_page):
        page.goto(f"{live_asgi}/inbox/tickets/{case_no}/")
        page.wait_for_selector("#live-status[data-state=open]")
    second_page.wait_for_selector("#presence:not([hidden])")
    assert "dispatcher" in second_page.inner_text("#presence")
    first_page.wait_for_selector("#presence:not([hidden])")
    assert "王二" in first_page.inner_text("#presence")
    step.shot(first_page, "both-viewing")

    # Both press 受理 on the same version of the page at once.
    first_page.evaluate("document.querySelector('button[data-action=acknowledge]').click()")
    second_page.evaluate("document.querySelector('button[data-action=acknowledge]').click()")
    for page in (first_page, second_page):
        page.wait_for_selector(".flash-success, #conflict")
    outcomes = [
        "conflict" if page.locator("#conflict").count() else "success"
        for page in (first_page, second_page)
    ]
    assert sorted(outcomes) == ["conflict", "success"]
    loser = (first_page, second_page)[outcomes.index("conflict")]
    message = loser.inner_text("#conflict")
    assert "操作未保存：工单已被他人修改" in message
    assert f"工单 {case_no}" in message and "已受理" in message
    step.shot(loser, "loser-sees-conflict")
    state, acknowledgements = in_thread(
        lambda: (
            Ticket.objects.get(case_no=case_no).state,
            Ticket.objects.get(case_no=case_no).events.filter(kind="acknowledge").count(),
        )
    )
    assert (state, acknowledgements) == ("acknowledged", 1)


def test_it_fits_the_queue_on_a_phone(
    live_asgi: str, cast: dict[str, Any], categories: Any, browser: Any
) -> None:
    file_case(live_asgi, "噪音扰民", "楼下广场舞音乐太吵，每天晚上十点还在跳。")
    page = sign_in(browser, live_asgi, "dispatcher", phone=True)
    page.locator("tr.ticket-row").first.wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, width
    Step("phone").shot(page, "queue")
