"""The inbox in a real browser: Playwright drives Debian's chromium against config.asgi served
by uvicorn in a thread of this process (so it uses the test database and, with REDIS_URL, the
Redis channel layer). Screenshots of each step go to test-artifacts/inbox/."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.core.handlers import asgi as django_asgi
from django.db import connection, connections

from tickets.models import Role, StaffProfile, Ticket

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
T = TypeVar("T")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "inbox"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_asgi(
    transactional_db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """config.asgi served by uvicorn on a free port, in a thread of the test process."""
    import uvicorn
    from channels.layers import channel_layers
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    # The embedded jobs thread would sweep the test database behind the test's back.
    monkeypatch.setenv("INPROCESS_JOBS", "0")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls between its
    # steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.WEBSITE_RATE_LIMIT = "1000/hour"
    if "CONFIG" in settings.CHANNEL_LAYERS["default"]:
        # A Redis shared with other test runs: keep this run's groups to itself.
        layers = json.loads(json.dumps(settings.CHANNEL_LAYERS))
        layers["default"]["CONFIG"]["prefix"] = f"minsheng-test-{os.getpid()}"
        settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    if connection.vendor == "sqlite":
        # SQLite's in-memory test database is shared between threads in "shared cache" mode,
        # where two writers get "database table is locked" at once instead of waiting. Without
        # a per-request thread context, asgiref runs every request's (and consumer's)
        # synchronous code in one thread, so requests take turns. On PostgreSQL they really
        # run in parallel and the row lock decides.
        monkeypatch.setattr(django_asgi, "ThreadSensitiveContext", contextlib.nullcontext)
    from config.asgi import application

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            ASGIStaticFilesHandler(application),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="asgi-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the ASGI server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    channel_layers.backends.clear()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Step:
    """Numbered screenshots, so the artefacts read as the story of the test."""

    def __init__(self, name: str) -> None:
        self.name, self.count = name, 0

    def shot(self, page: Any, what: str) -> None:
        self.count += 1
        page.screenshot(
            path=str(ARTIFACTS / f"{self.name}-{self.count:02d}-{what}.png"), full_page=True
        )


def in_thread(query: Callable[[], T]) -> T:
    """Run ORM code while Playwright is active in a short-lived thread that closes its
    connection: Playwright's greenlets give this thread's code another context, whose
    database connection would otherwise stay open and block dropping the test database."""

    def run() -> T:
        try:
            return query()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(run).result()


def sign_in(browser: Any, base: str, username: str, *, phone: bool = False) -> Any:
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{base}/inbox/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox/")
    page.wait_for_selector("#live-status[data-state=open]")
    return page


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
