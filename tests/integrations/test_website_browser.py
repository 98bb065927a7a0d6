"""A citizen in a real browser: the category list in Chinese order, the query code shown in
groups of four without look-alike characters, and a look-up typed in lower case. Screenshots go
to test-artifacts/website/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from tests.browser import browser_marks, in_thread
from tickets.models import Category, Ticket

ARTIFACTS = settings.BASE_DIR / "test-artifacts" / "website"

pytestmark = browser_marks


@pytest.fixture
def catalogue(db: Any) -> None:
    city = Category.objects.create(code="a-city", name="市容环境")
    traffic = Category.objects.create(code="b-traffic", name="交通")
    Category.objects.create(code="c-lights", name="路灯", parent=city)
    Category.objects.create(code="d-other", name="其他", parent=city)
    Category.objects.create(code="e-other", name="其他", parent=traffic)
    Category.objects.create(code="f-noise", name="噪声扰民")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_citizen_files_reads_the_code_aloud_and_looks_the_case_up(
    live_asgi: str,
    catalogue: None,
    browser: Any,
    settings: Any,
) -> None:
    settings.WEBSITE_RATE_LIMIT = "1000/hour"
    page = browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 900}).new_page()
    page.goto(f"{live_asgi}/")
    labels = page.locator("select[name=category] option").all_inner_texts()[1:]
    assert labels == ["交通", "路灯", "交通 / 其他", "市容环境 / 其他", "市容环境", "噪声扰民"]
    page.fill("input[name=phone]", "13812345678")
    page.select_option("select[name=category]", label="路灯")
    page.fill("input[name=title]", "建设路路灯不亮")
    page.fill("textarea[name=content]", "建设路与和平大道交叉口的路灯坏了一个多星期，晚上很黑。")
    shot(page, "file-01-form")
    page.click("button[type=submit]")
    page.wait_for_selector("#query-code")
    shown = page.inner_text("#query-code")
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", shown)
    case_no = page.inner_text("#case-no")
    shot(page, "file-02-case-number-and-code")
    ticket = in_thread(lambda: Ticket.objects.select_related("category").get(case_no=case_no))
    assert ticket.query_code == shown.replace("-", "") and ticket.category.code == "c-lights"

    page.click("a.button")  # 查询进度
    page.fill("input[name=query_code]", shown.lower().replace("-", " "))
    shot(page, "file-03-look-up-typed-in-lower-case")
    page.click("button[type=submit]")
    page.wait_for_selector(".facts")
    assert "建设路路灯不亮" in page.inner_text(".facts")
    shot(page, "file-04-case-page")
