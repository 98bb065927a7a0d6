"""导出 Excel: the workbook holds the rows the inbox shows (same filter, same scope, same order,
every page), formulas quoted, timestamps to the second; read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import re
from io import BytesIO
from typing import Any

from django.utils import timezone
from openpyxl import load_workbook

from tests.conftest import walk
from tickets import services
from tickets.models import Ticket
from tickets.views import export

ROW = re.compile(r'<tr id="ticket-\d+".*?</tr>', re.S)


def page_rows(client: Any, params: dict[str, Any]) -> list[list[str]]:
    """What the pages show, page after page: (case no, title, category, department, state)."""
    body = client.get("/inbox/", params).content.decode()
    rows: list[list[str]] = []
    while True:
        for html in ROW.findall(body):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
            text = [re.sub(r"<[^>]+>", "", cell.replace("<br>", " ")).strip() for cell in cells]
            offset = 1 if 'class="pick"' in html else 0
            case_no, _channel, title, category, department, state, _due = text[offset:]
            department = re.sub(r"\s+", " ", department)
            rows.append([case_no.split()[0], title, category, department, state])
        more = re.search(r'hx-get="(/inbox/rows/\?cursor=[^"]+)"', body)
        if not more:
            return rows
        body = client.get(more.group(1).replace("&amp;", "&")).content.decode()


def workbook(client: Any, params: dict[str, Any]) -> Any:
    response = client.get("/inbox/export.xlsx", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert re.match(
        r'attachment; filename="inbox-\d{8}-\d{6}\.xlsx"', response["Content-Disposition"]
    )
    return load_workbook(BytesIO(response.content))


def sheet_rows(book: Any) -> list[list[Any]]:
    sheet = book["工单"]
    lines = [list(line) for line in sheet.iter_rows(values_only=True)]
    assert lines[0] == list(export.COLUMNS)
    return lines[1:]


def as_page(line: list[Any]) -> list[str]:
    """The sheet's line as the page's cells (the page joins department and assignee)."""
    case_no, title, _channel, _type, _urgency, category, department, assignee, state = line[:9]
    shown_department = " ".join(part for part in (department or "—", assignee or "") if part)
    return [case_no, title, category or "—", shown_department, state]


def test_it_exports_the_rows_the_view_shows_in_its_order_across_pages(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any, categories: Any
) -> None:
    for n in range(52):
        make_ticket(f"井盖松动 {n}。", title=f"井盖 {n}", category_code="lights")
    walk(make_ticket("井盖丢了。", title="井盖丢失"), cast, departments, "in_progress")
    walk(make_ticket("井盖修好了。", title="井盖已修"), cast, departments, "closed")
    client = client_for("dispatcher")
    views: list[tuple[dict[str, Any], int]] = [
        ({}, 53),  # the open cases: two pages
        ({"q": "井盖"}, 54),  # a search: the closed one too, after the open ones
        ({"state": ["closed", "in_progress"]}, 2),
        ({"q": "井盖丢"}, 1),
    ]
    for params, length in views:
        shown = page_rows(client, params)
        lines = sheet_rows(workbook(client, params))
        assert [as_page(line) for line in lines] == shown, params
        assert len(shown) == length, params
    book = workbook(client, {"q": "井盖"})
    about = dict(book["说明"].iter_rows(values_only=True))
    assert about["筛选条件"] == "q=%E4%BA%95%E7%9B%96" and about["行数"] == 54


def test_it_exports_only_what_the_viewer_may_see(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    in_a = walk(make_ticket(title="甲局的"), cast, departments, "in_progress")
    in_b = walk(make_ticket(title="乙局的"), cast, departments, "acknowledged")
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=in_b.pk, department_id=departments["b"].pk
    )
    new = make_ticket(title="待受理的")
    expected = {
        "dispatcher": {in_a.case_no, in_b.case_no, new.case_no},
        "leadership": {in_a.case_no, in_b.case_no, new.case_no},
        "handler_a": {in_a.case_no},
        "supervisor_b": {in_b.case_no},
        "handler_a1": set(),
    }
    for who, cases in expected.items():
        client = client_for(who)
        lines = sheet_rows(workbook(client, {}))
        assert {line[0] for line in lines} == cases, who
        assert [as_page(line) for line in lines] == page_rows(client, {}), who


def test_it_quotes_formulas_and_writes_times_to_the_second(
    client_for: Any, make_ticket: Any
) -> None:
    titles = ['=HYPERLINK("http://x","点我")', "+1+2", "-3", "@SUM(A1)", "正常\x07标题"]
    made = [make_ticket(f"内容 {n}", title=title) for n, title in enumerate(titles)]
    Ticket.objects.filter(pk=made[0].pk).update(
        received_at=timezone.make_aware(dt.datetime(2026, 12, 3, 9, 8, 7, 654321))
    )
    book = workbook(client_for("dispatcher"), {})
    sheet = book["工单"]
    by_case = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    quoted = [by_case[ticket.case_no][1] for ticket in made]
    assert [cell.value for cell in quoted] == [
        '\'=HYPERLINK("http://x","点我")',
        "'+1+2",
        "'-3",
        "'@SUM(A1)",
        "正常标题",
    ]
    assert all(cell.data_type == "s" for cell in quoted)  # text, never a formula
    received = by_case[made[0].case_no][12]
    assert received.value == dt.datetime(2026, 12, 3, 9, 8, 7)
    assert received.number_format == "yyyy-mm-dd h:mm:ss"  # shown to the second
    due = by_case[made[1].case_no][11]
    local_due = timezone.localtime(Ticket.objects.get(pk=made[1].pk).ack_due_at)
    assert due.value == local_due.replace(tzinfo=None, microsecond=0)
    assert by_case[made[1].case_no][10].value == "受理"


def test_it_says_when_the_view_was_longer_than_an_export_holds(
    client_for: Any, make_ticket: Any, monkeypatch: Any
) -> None:
    for n in range(5):
        make_ticket(f"噪音 {n}", title=f"噪音 {n}")
    monkeypatch.setattr(export, "EXPORT_MAX", 3)
    client = client_for("dispatcher")
    book = workbook(client, {})
    lines = sheet_rows(book)
    assert [line[0] for line in lines] == [row[0] for row in page_rows(client, {})][:3]
    about = dict(book["说明"].iter_rows(values_only=True))
    assert about["行数"] == 3 and "只导出了前 3 件" in about["注意"]
    assert client_for("outsider").get("/inbox/export.xlsx").status_code in (302, 403, 404)
