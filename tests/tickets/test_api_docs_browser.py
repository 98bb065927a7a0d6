"""``/api/docs/`` in a real browser: Swagger UI renders the schema from our own static files
(drf-spectacular-sidecar), with every request going to our server and none to a CDN."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from tests.browser import browser_marks

ARTIFACTS = settings.BASE_DIR / "test-artifacts" / "api"

pytestmark = browser_marks


def test_it_renders_the_api_docs_offline(live_asgi: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    hosts: set[str] = set()
    failed: list[str] = []
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.on("requestfailed", lambda request: failed.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    response = page.goto(f"{live_asgi}/api/docs/")
    assert response is not None and response.status == 200
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Minsheng 民声 API" in page.inner_text(".swagger-ui .info .title")
    # The operations come from /api/schema/: the ticket list and the website intake.
    page.wait_for_selector(".opblock")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs-01-rendered.png"))
    body = page.inner_text("#swagger-ui")
    assert "/api/v1/tickets/" in body and "/api/v1/website/tickets/" in body
    page.locator(".opblock-summary", has_text="/api/v1/website/tickets/").first.click()
    page.wait_for_selector(".opblock.is-open")
    page.screenshot(path=str(ARTIFACTS / "api-docs-02-operation-open.png"))

    assert hosts == {urlsplit(live_asgi).netloc}, hosts
    assert failed == [] and errors == []
    context.close()
