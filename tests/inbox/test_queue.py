"""The queue page: order, columns, filters, search, saved views, paging, scoping, cost."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import walk
from tickets import services
from tickets.models import Ticket


def case_nos(body: str) -> list[str]:
    return re.findall(r'<td class="case-no"[^>]*><a href="/inbox/tickets/(\d+)/"', body)


def test_it_lists_new_cases_first_by_ack_deadline_then_the_rest_by_resolution_deadline(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    now = timezone.now()
    older_new = make_ticket(received_at=now - dt.timedelta(minutes=20))
    newer_new = make_ticket(received_at=now - dt.timedelta(minutes=5))
    consult = walk(make_ticket(request_type="consult"), cast, departments, "acknowledged")
    complaint = walk(make_ticket(request_type="complaint"), cast, departments, "acknowledged")
    body = client_for("dispatcher").get("/inbox/").content.decode()
    assert case_nos(body) == [
        older_new.case_no,
        newer_new.case_no,
        consult.case_no,
        complaint.case_no,
    ]


def test_it_shows_each_rows_columns_and_a_countdown_to_the_next_deadline(
    client_for: Any, make_ticket: Any, categories: Any
) -> None:
    ticket = make_ticket(
        "建设路路灯坏了一个多星期，晚上很黑。",
        title="建设路路灯不亮",
        channel="wechat",
        category_code="lights",
        sender_kind="wechat_openid",
    )
    body = client_for("dispatcher").get("/inbox/").content.decode()
    row = re.search(rf'<tr id="ticket-{ticket.pk}".*?</tr>', body, re.S).group(0)
    assert ticket.case_no in row and "建设路路灯不亮" in row and "路灯" in row
    assert "channel-wechat" in row and "微信" in row
    assert "待受理" in row
    assert f'data-due="{ticket.ack_due_at.isoformat()}"' in row
    assert 'data-level="ok"' in row


def test_it_marks_a_warned_row_amber_and_a_breached_row_red(
    client_for: Any, make_ticket: Any
) -> None:
    warned, breached = make_ticket(), make_ticket()
    Ticket.objects.filter(pk=warned.pk).update(ack_warned=True)
    Ticket.objects.filter(pk=breached.pk).update(
        ack_breached=True, ack_due_at=timezone.now() - dt.timedelta(minutes=7), supervised=True
    )
    body = client_for("dispatcher").get("/inbox/").content.decode()
    assert re.search(rf'id="ticket-{warned.pk}"[^>]*level-warned', body)
    assert re.search(rf'id="ticket-{breached.pk}"[^>]*level-breached', body)
    assert 'title="督办"' in body


def test_it_filters_by_state_channel_department_category_type_overdue_supervised_and_mine(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any, categories: Any
) -> None:
    plain = make_ticket()
    wechat = make_ticket(channel="wechat", sender_kind="wechat_openid")
    lights = make_ticket(category_code="lights", request_type="complaint")
    assigned = walk(make_ticket(), cast, departments, "in_progress")  # dept a, handler_a
    late = make_ticket()
    Ticket.objects.filter(pk=late.pk).update(
        ack_due_at=timezone.now() - dt.timedelta(minutes=1), supervised=True
    )
    client = client_for("dispatcher")

    def shown(query: str) -> set[str]:
        return set(case_nos(client.get(f"/inbox/?{query}").content.decode()))

    assert shown("state=in_progress") == {assigned.case_no}
    assert shown("channel=wechat") == {wechat.case_no}
    assert shown(f"department={departments['a'].pk}") == {assigned.case_no}
    assert shown(f"category={categories['lights'].pk}") == {lights.case_no}
    assert shown("request_type=complaint") == {lights.case_no}
    assert shown("overdue=on") == {late.case_no}
    assert shown("supervised=on") == {late.case_no}
    assert plain.case_no in shown("")
    assert set(case_nos(client_for("handler_a").get("/inbox/?mine=on").content.decode())) == {
        assigned.case_no
    }


def test_it_searches_title_and_content_in_chinese(client_for: Any, make_ticket: Any) -> None:
    lamp = make_ticket("建设路的路灯坏了一个多星期，晚上很黑。", title="路灯不亮")
    noise = make_ticket("楼下广场舞音乐太吵，每天晚上十点还在跳。", title="广场舞噪音扰民")
    water = make_ticket("小区停水三天了，没有任何通知。", title="小区停水")
    client = client_for("dispatcher")

    def found(q: str) -> set[str]:
        return set(case_nos(client.get("/inbox/", {"q": q}).content.decode()))

    assert found("路灯") == {lamp.case_no}
    assert found("建设路") == {lamp.case_no}  # in the content only
    assert found("噪音") == {noise.case_no}  # in the title only
    assert found("晚上") == {lamp.case_no, noise.case_no}
    assert found("晚上 广场舞") == {noise.case_no}  # every term must match
    assert found("灯路") == set()  # characters in another order are another word
    assert found(water.case_no) == {water.case_no}
    assert found("！！") == set()  # nothing to search for finds nothing


def test_it_pages_with_a_keyset_cursor_without_gaps_or_repeats(
    client_for: Any, make_ticket: Any
) -> None:
    made = {make_ticket().case_no for _ in range(55)}
    client = client_for("dispatcher")
    body = client.get("/inbox/").content.decode()
    first = case_nos(body)
    assert len(first) == 50
    cursor = re.search(r"/inbox/rows/\?cursor=([\w-]+)", body).group(1)
    make_ticket()  # a newcomer while paging does not shift the next page
    more = client.get("/inbox/rows/", {"cursor": cursor}).content.decode()
    second = case_nos(more)
    assert not set(first) & set(second)
    assert made <= set(first) | set(second)
    assert "more-row" not in more or len(second) == 50


def test_it_reads_a_page_in_the_same_number_of_queries_however_many_rows(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any, categories: Any
) -> None:
    client = client_for("dispatcher")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/inbox/").status_code == 200
        return len(queries)

    walk(make_ticket(category_code="lights"), cast, departments, "in_progress")
    few = count()
    for _ in range(6):
        walk(make_ticket(category_code="housing"), cast, departments, "assigned")
        make_ticket(category_code="lights")
    assert count() == few


def test_it_shows_a_handler_only_their_departments_tickets(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "assigned")  # to bureau a
    assert ticket.case_no in client_for("handler_a").get("/inbox/").content.decode()
    assert ticket.case_no not in client_for("handler_b").get("/inbox/").content.decode()
    assert client_for("handler_b").get(f"/inbox/rows/{ticket.pk}/").status_code == 204
    assert client_for("handler_b").get(f"/inbox/tickets/{ticket.case_no}/").status_code == 404


def test_it_answers_one_row_by_id_under_the_pages_filters(
    client_for: Any, make_ticket: Any
) -> None:
    ticket = make_ticket()
    client = client_for("dispatcher")
    response = client.get(f"/inbox/rows/{ticket.pk}/")
    assert response.status_code == 200 and ticket.case_no in response.content.decode()
    assert client.get(f"/inbox/rows/{ticket.pk}/?state=replied").status_code == 204


def test_it_saves_applies_and_deletes_a_view_in_the_session(
    client_for: Any, make_ticket: Any
) -> None:
    client = client_for("dispatcher")
    response = client.post(
        "/inbox/views/save/", {"name": "微信待受理", "query": "channel=wechat&state=new&cursor=x"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/inbox/?state=new&channel=wechat"
    body = client.get("/inbox/").content.decode()
    assert '<a href="/inbox/?state=new&amp;channel=wechat">微信待受理</a>' in body
    client.post("/inbox/views/delete/", {"name": "微信待受理"})
    assert "微信待受理" not in client.get("/inbox/").content.decode()


def test_it_tells_a_reconnecting_page_which_visible_tickets_changed(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    before = make_ticket()
    client = client_for("handler_b")
    since = client_for("dispatcher").get("/inbox/").content.decode()
    last = int(re.search(r'data-last-event="(\d+)"', since).group(1))
    to_a = walk(make_ticket(), cast, departments, "assigned")
    to_b = make_ticket()
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=to_b.pk)
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=to_b.pk, department_id=departments["b"].pk
    )
    data = client.get("/inbox/changes/", {"since": last}).json()
    assert [row["id"] for row in data["rows"]] == [to_b.pk]
    assert to_b.case_no in data["rows"][0]["html"]
    assert data["last_event_id"] > last
    everything = client_for("dispatcher").get("/inbox/changes/", {"since": last}).json()
    assert {row["id"] for row in everything["rows"]} == {to_a.pk, to_b.pk}
    assert before.pk not in {row["id"] for row in everything["rows"]}
