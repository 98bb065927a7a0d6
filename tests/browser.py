"""Browser tests' shared pieces: config.asgi served by uvicorn in a thread of the test process
(so it uses the test database and, with REDIS_URL, the Redis channel layer), Debian's chromium
driven by Playwright, numbered screenshots under test-artifacts/.

Every page a test opens runs under the site's Content-Security-Policy, and any violation the
browser reports (an inline script or style, a script from elsewhere) fails the test at its end:
the vendored ECharts and htmx must work under the policy, not beside it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.core.handlers import asgi as django_asgi
from django.db import connection, connections

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
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)
browser_marks = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


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


class CspWatchedBrowser:
    """Chromium whose every page reports Content-Security-Policy violations to ``violations``."""

    def __init__(self, chromium: Any) -> None:
        self._chromium = chromium
        self.violations: list[str] = []

    def _watch(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            # The page's own report (see _REPORTER) names what was blocked; Chromium's line for
            # the same violation does not, and is not counted twice.
            text = message.text
            if text.startswith("Content-Security-Policy violation:") and not self._playwrights_own(
                text
            ):
                self.violations.append(f"{page.url}: {text}")

        page.on("console", on_console)

    # Each violation also reported with what was blocked and where (the console's own line
    # names neither the element nor the script).
    _REPORTER = """document.addEventListener('securitypolicyviolation', (e) => console.error(
        'Content-Security-Policy violation: ' + e.violatedDirective + ' at ' + e.sourceFile + ':'
        + e.lineNumber + ' sample=' + JSON.stringify(e.sample) + ' element='
        + (e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 160) : '')));"""

    @staticmethod
    def _playwrights_own(report: str) -> bool:
        """Playwright's screenshots hide the text caret with a style attribute on the focused
        element (then leave ``style=""``): the tool's doing, not the page's."""
        element = report.partition(" element=")[2]
        return 'style="caret-color: transparent !important;"' in element or (
            ' style="">' in element and "style-src-attr" in report
        )

    def new_context(self, **options: Any) -> Any:
        context = self._chromium.new_context(**options)
        context.add_init_script(self._REPORTER)
        context.on("page", self._watch)
        return context

    def new_page(self, **options: Any) -> Any:
        return self.new_context(**options).new_page()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chromium, name)


@pytest.fixture
def browser() -> Iterator[CspWatchedBrowser]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        watched = CspWatchedBrowser(chromium)
        yield watched
        chromium.close()
    assert not watched.violations, "Content-Security-Policy violations:\n" + "\n".join(
        watched.violations
    )


class Step:
    """Numbered screenshots, so the artefacts read as the story of the test."""

    def __init__(self, name: str, folder: str = "inbox") -> None:
        self.name, self.count = name, 0
        self.folder = ARTIFACTS / folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def shot(self, page: Any, what: str) -> None:
        self.count += 1
        page.screenshot(
            path=str(self.folder / f"{self.name}-{self.count:02d}-{what}.png"), full_page=True
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
    """A page signed in to the inbox as ``username`` (password ``pw-<username>``)."""
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
