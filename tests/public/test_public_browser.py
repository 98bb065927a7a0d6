"""The public pages in a real browser: the search box, a record's street-level location (the
same as Open311's) and the Open311 index. Screenshots go to test-artifacts/public/."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from tests.browser import browser_marks
from tests.conftest import walk
from tickets import publication
from tickets.models_public import PublicRecord

ARTIFACTS = settings.BASE_DIR / "test-artifacts" / "public"

pytestmark = browser_marks


@pytest.fixture
def published(make_ticket: Any, cast: dict, departments: dict, categories: dict) -> dict:
    def publish(text: str, category: str, **fields: Any) -> PublicRecord:
        ticket = walk(
            make_ticket(text, category_code=category, **fields), cast, departments, "replied"
        )
        record = PublicRecord.objects.get(ticket=ticket)
        if record.status != PublicRecord.Status.PUBLISHED:
            record = publication.public_record_review(
                actor=cast["dispatcher"], record_id=record.pk, action="approve"
            )
        return record

    return {
        "lights": publish(
            "建设路的路灯坏了一个多星期，晚上很黑。",
            "lights",
            address="青山区建设路88号幸福小区3栋2单元501室",
            latitude=Decimal("30.612345"),
            longitude=Decimal("114.301789"),
        ),
        "dark": publish("和平大道路灯不亮，已经三天了。", "lights"),
        "water": publish("小区停水三天了，没有任何通知。", "housing"),
    }


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_visitor_searches_and_reads_where_a_case_was(
    live_asgi: str,
    published: dict,
    browser: Any,
) -> None:
    page = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{live_asgi}/public/")
    assert page.locator("article.record").count() == 3
    page.fill("input[name=q]", "路灯 星期")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/public/?q=*")
    assert "搜索“路灯 星期”：共 1 件" in page.inner_text(".result-count")
    assert page.locator("article.record").count() == 1
    shot(page, "search-01-two-words")

    page.locator("article.record h3 a").click()
    record = published["lights"]
    page.wait_for_url(f"**/public/cases/{record.public_id}/")
    location = page.inner_text("dd.location")
    assert location.startswith("青山区建设路") and "30.612, 114.302" in location
    assert "88号" not in page.content() and "501" not in page.content()
    shot(page, "search-02-record-with-location")

    with urllib.request.urlopen(f"{live_asgi}/open311/v2/requests/{record.public_id}.json") as r:
        item = json.loads(r.read())[0]
    assert (item["address"], item["lat"], item["long"]) == ("青山区建设路", 30.612, 114.302)

    page.goto(f"{live_asgi}/public/?q=城管局")
    assert page.locator("article.record").count() == 3  # the department's name
    page.goto(f"{live_asgi}/public/?q=不存在的词")
    assert "没有符合条件的公开记录" in page.inner_text("main")
    shot(page, "search-03-nothing-found")


def test_the_open311_root_is_an_index_of_the_interface(
    live_asgi: str,
    published: dict,
    browser: Any,
) -> None:
    page = browser.new_context(locale="zh-CN").new_page()
    response = page.goto(f"{live_asgi}/open311/v2/")
    assert response is not None and response.status == 200
    assert "Open311 GeoReport v2 接口" in page.inner_text("h2")
    shot(page, "open311-index")
    page.click("a[href='requests.json']")
    listed = json.loads(page.inner_text("body"))
    assert {item["service_request_id"] for item in listed} == {
        record.public_id for record in published.values()
    }
