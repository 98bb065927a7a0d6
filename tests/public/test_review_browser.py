"""The review of a public record in a real browser (issue 17): the reviewer goes from the
inbox's review link to the record, sees the spans that still look like personal data flagged,
is refused a one-click approval, confirms those spans and publishes. Screenshots of each step
go to test-artifacts/public/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.browser import browser_marks, in_thread, sign_in
from tests.conftest import walk
from tickets.models_public import PublicRecord

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "public"
UNNAMED = "楼道灯坏了一个月，请尽快维修。\n我的证号420102199003071233，加我 wjg_1988 发照片。"

pytestmark = browser_marks


def shot(page: Any, number: int, what: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-{number:02d}-{what}.png"), full_page=True)


def test_it_refuses_one_click_approval_of_a_suspect_copy_then_publishes_on_confirmation(
    cast: dict[str, Any],
    departments: dict[str, Any],
    make_ticket: Any,
    live_asgi: str,
    browser: Any,
) -> None:
    ticket = in_thread(lambda: walk(make_ticket(UNNAMED), cast, departments, "replied"))
    record = in_thread(lambda: PublicRecord.objects.get(ticket=ticket))
    assert record.status == PublicRecord.Status.PENDING and record.masks == {}

    page = sign_in(browser, live_asgi, "supervisor_a")
    assert page.inner_text("#review-count") == "1"
    shot(page, 1, "inbox-shows-review-link-with-count")
    page.click("#review-link")
    page.wait_for_url(f"{live_asgi}/public/review/")
    assert "2 处" in page.inner_text("td.suspect-count")
    shot(page, 2, "review-list")

    page.click(f"text={ticket.case_no}")
    page.wait_for_url(f"{live_asgi}/public/review/{record.pk}/")
    flagged = page.locator("[data-field=content] mark.suspicious")
    assert flagged.all_inner_texts() == ["420102199003071233", "wjg_1988"]
    # The mark is visible: a red outline the reviewer cannot miss.
    outline = flagged.first.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"
    assert "公开文本中有 2 处疑似个人信息" in page.inner_text("#suspects")
    shot(page, 3, "suspects-highlighted")

    # One click on 批准公开: refused, nothing published.
    page.click("#approve")
    page.wait_for_selector("#confirm")
    assert "未公开" in page.inner_text("p.error")
    assert page.locator("#approve").count() == 0
    status = in_thread(lambda: PublicRecord.objects.get(pk=record.pk).status)
    assert status == PublicRecord.Status.PENDING
    shot(page, 4, "one-click-approval-refused")

    # The confirmation button alone does not do it either: the box must be ticked.
    page.click("#confirm-approve")
    assert page.evaluate("document.querySelector('input[name=confirm]').validity.valueMissing")
    assert page.url == f"{live_asgi}/public/review/{record.pk}/"
    status = in_thread(lambda: PublicRecord.objects.get(pk=record.pk).status)
    assert status == PublicRecord.Status.PENDING

    page.check("input[name=confirm]")
    shot(page, 5, "confirmation-ticked")
    page.click("#confirm-approve")
    page.wait_for_selector("text=已批准公开")
    published = in_thread(lambda: PublicRecord.objects.get(pk=record.pk))
    assert published.status == PublicRecord.Status.PUBLISHED
    assert published.reviewed_by_id == cast["supervisor_a"].pk
    shot(page, 6, "published")

    page.click("text=查看公开页面")
    page.wait_for_url(re.compile(rf"/public/cases/{re.escape(published.public_id)}/$"))
    assert "楼道灯坏了一个月" in page.inner_text("main")
    shot(page, 7, "public-page")

    page.goto(f"{live_asgi}/inbox/")
    assert page.inner_text("#review-count") == "0"
