"""The error pages and the site icon in a real browser (DEBUG off), and the admin's login
lock-out pages in Chinese. Screenshots go to test-artifacts/errors/."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from tests.browser import browser_marks

ARTIFACTS = settings.BASE_DIR / "test-artifacts" / "errors"

pytestmark = browser_marks


@pytest.fixture
def failing_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.config.error_urls"
    settings.DEBUG = False


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_visitor_sees_chinese_error_pages_with_the_site_icon(
    failing_urls: None,
    live_asgi: str,
    browser: Any,
) -> None:
    page = browser.new_context(locale="zh-CN", viewport={"width": 900, "height": 700}).new_page()
    response = page.goto(f"{live_asgi}/no-such-page/")
    assert response is not None and response.status == 404
    assert page.inner_text("h1") == "页面不存在"
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
        == "rgb(183, 28, 28)"
    )  # the site's red: its stylesheet loaded
    shot(page, "404")
    # The page's icon is a picture the browser can draw (headless Chromium does not fetch it
    # by itself, so the page loads it as an image).
    width = page.evaluate(
        """async () => {
            const img = new Image();
            img.src = document.querySelector("link[rel=icon]").href;
            await img.decode();
            return img.naturalWidth;
        }"""
    )
    assert width >= 16

    response = page.goto(f"{live_asgi}/boom/crash/")
    assert response is not None and response.status == 500
    assert page.inner_text("h1") == "系统暂时出现问题"
    assert "RuntimeError" not in page.content()
    shot(page, "500")

    response = page.goto(f"{live_asgi}/boom/database-down/")
    assert response is not None and response.status == 503
    assert page.inner_text("h1") == "系统暂时无法访问"
    assert "OperationalError" not in page.content()
    shot(page, "503")

    page.click("text=返回首页")
    page.wait_for_url(f"{live_asgi}/")
    assert page.locator("select[name=category]").count() == 1


def test_an_administrator_reads_the_login_lock_out_in_chinese(
    live_asgi: str,
    cast: dict,
    browser: Any,
) -> None:
    page = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 800}).new_page()
    page.goto(f"{live_asgi}/admin/login/")
    page.fill("input[name=username]", "handler_a")
    page.fill("input[name=password]", "wrong password")
    page.click("input[type=submit]")
    page.goto(f"{live_asgi}/admin/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "pw-admin")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_asgi}/admin/")
    assert "登录保护" in page.inner_text("#content") and "Axes" not in page.inner_text("#content")
    page.goto(f"{live_asgi}/admin/axes/accessattempt/")
    table = page.inner_text("#result_list")
    for column in ("尝试时间", "IP 地址", "用户名", "失败次数", "状态"):
        assert column in table, column
    assert "handler_a" in table and "还可尝试 4 次" in table
    shot(page, "admin-login-lock-out")
