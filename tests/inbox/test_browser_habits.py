"""Inbox habits in a real browser (issue 17, item 5): search in any state, the approval queue,
the assignee list following the department, the department tree, the export and the print view.
Same server and CSP-watched browser as every browser test (tests/browser.py);
screenshots go to test-artifacts/inbox/."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

import pdfplumber
from openpyxl import load_workbook

from tests.browser import ARTIFACTS, Step, browser_marks, in_thread, sign_in
from tests.conftest import walk
from tests.inbox.test_browser import row
from tickets import services
from tickets.models import ExtensionRequest, Ticket
from tickets.services.extensions import ticket_extension_request

pytestmark = browser_marks


def test_it_finds_a_closed_case_by_phone_and_name_from_the_search_box(
    live_asgi: str, cast: dict[str, Any], departments: Any, make_ticket: Any, browser: Any
) -> None:
    step = Step("search-any-state")

    def setup() -> tuple[str, str]:
        closed = walk(
            make_ticket(
                "和平街路灯坏了。", title="路灯损坏", sender_id="13987654321", sender_name="周梅"
            ),
            cast,
            departments,
            "closed",
        )
        open_ = make_ticket("解放大道路灯不亮。", title="路灯不亮")
        return closed.case_no, open_.case_no

    closed, open_ = in_thread(setup)
    page = sign_in(browser, live_asgi, "dispatcher")
    assert row(page, closed).count() == 0  # the queue itself shows open cases
    assert row(page, open_).count() == 1
    step.shot(page, "queue-open-cases-only")

    page.fill("input[name=q]", "139 8765 4321")
    page.press("input[name=q]", "Enter")
    row(page, closed).wait_for()
    assert "已办结" in row(page, closed).inner_text()
    assert "搜索范围：全部状态" in page.inner_text("#search-scope")
    assert page.locator("tr.ticket-row").count() == 1
    step.shot(page, "found-by-phone")

    page.fill("input[name=q]", "周梅")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=%E5%91%A8%E6%A2%85"))
    row(page, closed).wait_for()
    step.shot(page, "found-by-name")

    page.fill("input[name=q]", "路灯")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=%E8%B7%AF%E7%81%AF"))
    row(page, open_).wait_for()
    cases = page.locator("tr.ticket-row td.case-no a").all_inner_texts()
    assert cases == [open_, closed]  # the open case first, then the settled one
    step.shot(page, "text-search-open-first")

    # The export carries exactly these rows.
    with page.expect_download() as download:
        page.click("#export-xlsx")
    path = ARTIFACTS / "inbox" / "search-any-state.xlsx"
    download.value.save_as(str(path))
    sheet = load_workbook(BytesIO(path.read_bytes()))["工单"]
    assert [line[0] for line in sheet.iter_rows(min_row=2, values_only=True)] == cases


def test_a_supervisor_approves_an_extension_from_the_approval_queue(
    live_asgi: str, cast: dict[str, Any], departments: Any, make_ticket: Any, browser: Any
) -> None:
    step = Step("approvals")

    def setup() -> tuple[str, int, int]:
        first = walk(make_ticket(title="井盖维修"), cast, departments, "in_progress")
        second = walk(make_ticket(title="道路修补"), cast, departments, "in_progress")
        one = ticket_extension_request(
            actor=cast["handler_a"], ticket_id=first.pk, days=3, reason="需协调施工单位"
        )
        two = ticket_extension_request(
            actor=cast["handler_a"], ticket_id=second.pk, days=2, reason="等待材料"
        )
        return first.case_no, one.pk, two.pk

    first, one, two = in_thread(setup)
    page = sign_in(browser, live_asgi, "supervisor_a")
    assert page.inner_text("#approvals-count") == "2"
    page.click("#approvals-link")
    page.wait_for_url(f"{live_asgi}/inbox/approvals/")
    assert page.locator("tr.approval-row").count() == 2
    assert "需协调施工单位" in page.inner_text(f"#extension-{one}")
    step.shot(page, "queue-of-two")

    page.locator(f"#extension-{one} button[value=approve]").click()
    page.wait_for_selector(".flash-success")
    assert f"工单 {first} 的延期申请（3 个工作日）已批准。" in page.inner_text(".flash")
    assert page.locator(f"#extension-{one}").count() == 0
    assert page.inner_text("#approvals-count") == "1"
    step.shot(page, "approved-one")

    page.locator(f"#extension-{two} button[value=reject]").click()
    page.wait_for_selector(".flash-error")
    assert "请填写驳回理由。" in page.inner_text(".flash")
    page.fill(f"#note-{two}", "材料已到，请按原时限办结")
    page.locator(f"#extension-{two} button[value=reject]").click()
    page.wait_for_selector(".flash-success")
    assert page.locator("#no-extensions").count() == 1
    assert page.locator("#approvals-count").count() == 0
    step.shot(page, "queue-empty")
    statuses = in_thread(lambda: dict(ExtensionRequest.objects.values_list("pk", "status")))
    assert statuses == {one: "approved", two: "rejected"}
    # Another department's supervisor has nothing of it.
    other = sign_in(browser, live_asgi, "supervisor_b")
    other.goto(f"{live_asgi}/inbox/approvals/")
    assert other.locator("tr.approval-row").count() == 0
    step.shot(other, "other-department-sees-nothing")


def test_the_assignee_list_follows_the_department_picked_in_a_tree(
    live_asgi: str,
    cast: dict[str, Any],
    departments: Any,
    categories: Any,
    make_ticket: Any,
    browser: Any,
) -> None:
    step = Step("assign-tree")
    ticket = in_thread(
        lambda: (
            walk(
                make_ticket(title="楼道灯坏了", category_code="housing"),
                cast,
                departments,
                "acknowledged",
            ).case_no
        )
    )
    page = sign_in(browser, live_asgi, "dispatcher")
    page.goto(f"{live_asgi}/inbox/tickets/{ticket}/")
    page.click("summary[data-action=assign]")
    form = page.locator("details.action-assign form")
    department = form.locator("select[name=department]")
    labels = department.locator("option").all_inner_texts()
    assert labels[1:] == [
        "青山区",
        "\u3000└ 城管局",
        "\u3000\u3000└ 市容科",
        "\u3000└ 住建局",
        "\u3000\u3000└ 物业科",
    ]

    def assignees() -> list[str]:
        return [
            text.split("（")[0]
            for text in form.locator("select[name=assignee] option").all_inner_texts()[1:]
        ]

    assert assignees() == ["handler_b", "supervisor_b"]  # the category's default: 住建局
    step.shot(page, "starts-on-the-default-department")
    with page.expect_response(re.compile(r"/assignees/\?department=")):
        department.select_option(label="\u3000└ 城管局")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#id_assignee option')].some(o => o.text.startsWith('handler_a'))"
    )
    assert assignees() == ["handler_a", "supervisor_a", "handler_a1"]  # by department
    with page.expect_response(re.compile(r"/assignees/\?department=")):
        department.select_option(label="\u3000\u3000└ 市容科")
    page.wait_for_function("() => document.querySelectorAll('#id_assignee option').length === 2")
    assert assignees() == ["handler_a1"]
    step.shot(page, "section-handlers")
    form.locator("select[name=assignee]").select_option(index=1)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash-success")
    assert page.inner_text("#ticket-state") == "已派单"
    assert "市容科（handler_a1）" in page.inner_text(".ticket-head")
    step.shot(page, "assigned-to-the-section")

    # The queue's department filter is the same tree and covers what lies below.
    page.goto(f"{live_asgi}/inbox/")
    with page.expect_response(re.compile(r"/inbox/\?")):
        page.select_option("#id_department", label="\u3000└ 城管局")
    row(page, ticket).wait_for()
    step.shot(page, "filter-bureau-shows-its-section")
    assert in_thread(lambda: Ticket.objects.get(case_no=ticket).assignee.username) == "handler_a1"


def test_it_prints_a_case_on_one_page_without_menus_or_forms(
    live_asgi: str, cast: dict[str, Any], departments: Any, make_ticket: Any, browser: Any
) -> None:
    step = Step("print")

    def setup() -> str:
        ticket = walk(
            make_ticket("南湖路口井盖松动，车一过就响，很危险。", title="井盖松动"),
            cast,
            departments,
            "in_progress",
        )
        services.ticket_add_note(actor=cast["handler_a"], ticket_id=ticket.pk, text="已现场查看")
        return ticket.case_no

    case_no = in_thread(setup)
    page = sign_in(browser, live_asgi, "handler_a")
    page.goto(f"{live_asgi}/inbox/tickets/{case_no}/")
    assert page.is_visible("#print-ticket") and page.is_visible("#actions")
    page.emulate_media(media="print")
    for hidden in (".topbar", "#actions", "#print-ticket", "#earlier-cases"):
        assert not page.is_visible(hidden), hidden
    assert page.is_visible(".print-only") and page.is_visible("#timeline")
    step.shot(page, "print-view")
    path = ARTIFACTS / "inbox" / "print-ticket.pdf"
    page.pdf(path=str(path), format="A4", print_background=False)
    with pdfplumber.open(str(path)) as pdf:
        assert len(pdf.pages) == 1
        text = pdf.pages[0].extract_text() or ""
    assert case_no in text and "井盖松动" in text and "已现场查看" in text
    # No menu ("工单队列" is in the top bar and the crumbs), no action form, no logout.
    for absent in ("工单队列", "要求市民补充", "申请延期", "退出"):
        assert absent not in text, absent
