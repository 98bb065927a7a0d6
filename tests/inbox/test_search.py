"""The queue's search beyond the basics in test_queue: closed cases, edits, scoping, and the
stored search document on PostgreSQL (migration 0008)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from django.db import connection

from tests.conftest import requires_postgres, walk
from tickets.models import Ticket, TicketEvent
from tickets.views import queries


def case_nos(body: str) -> set[str]:
    return set(re.findall(r'<td class="case-no"[^>]*><a href="/inbox/tickets/(\d+)/"', body))


def test_it_searches_closed_cases_when_the_state_filter_asks_for_them(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    closed = walk(make_ticket("和平街的路灯坏了。", title="路灯损坏"), cast, departments, "closed")
    open_ = make_ticket("解放大道的路灯不亮。", title="路灯不亮")
    client = client_for("dispatcher")

    def found(**params: str) -> set[str]:
        return case_nos(client.get("/inbox/", params).content.decode())

    assert found(q="路灯") == {open_.case_no}  # the queue shows open cases by default
    assert found(q="路灯", state="closed") == {closed.case_no}
    assert found(q="和平街", state="closed") == {closed.case_no}
    assert found(q="解放大道", state="closed") == set()


def test_it_finds_a_ticket_by_its_current_text_after_an_edit(
    client_for: Any, make_ticket: Any
) -> None:
    ticket = make_ticket("小区门口的垃圾没人清运。", title="垃圾清运")
    Ticket.objects.filter(pk=ticket.pk).update(title="占道经营", content="人民路步行街占道经营。")
    client = client_for("dispatcher")

    def found(q: str) -> set[str]:
        return case_nos(client.get("/inbox/", {"q": q}).content.decode())

    assert found("步行街") == {ticket.case_no}
    assert found("垃圾") == set()


def test_it_matches_letters_and_digits_next_to_chinese_in_any_case(
    client_for: Any, make_ticket: Any
) -> None:
    bus = make_ticket("公交12路早高峰间隔太长，APP上显示的时间不准。", title="公交班次")
    other = make_ticket("公交2路晚上停运太早。", title="公交停运")
    client = client_for("dispatcher")

    def found(q: str) -> set[str]:
        return case_nos(client.get("/inbox/", {"q": q}).content.decode())

    assert found("12路") == {bus.case_no}
    assert found("app") == {bus.case_no}
    assert found("公交 晚上") == {other.case_no}


def test_it_searches_only_the_cases_a_handler_may_see(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    mine = walk(make_ticket("幸福小区的路灯坏了。", title="路灯"), cast, departments, "in_progress")
    make_ticket("阳光花园的路灯坏了。", title="路灯")  # not dispatched: the district's only
    body = client_for("handler_a").get("/inbox/", {"q": "路灯"}).content.decode()
    assert case_nos(body) == {mine.case_no}


@requires_postgres
@pytest.mark.django_db
def test_the_stored_document_is_the_one_the_search_matched_before(make_ticket: Any) -> None:
    """The generated column holds what the search used to build per row: the title and the
    content, a space around every CJK character (the CJK ranges of tickets.views.queries)."""
    texts = [
        ("建设路路灯不亮", "建设路的路灯坏了一个多星期，晚上很黑。"),
        ("WiFi 信号", "图书馆3楼的WiFi（网络）每天18:00后断线，email: a.b@example.com"),
        ("兼容字", "﨑玉县来的游客说𠀀字和㐀字显示不出来。"),
        ("", "只有内容没有标题"),
    ]
    migration = importlib.import_module("tickets.migrations.0008_ticket_search_document")
    assert migration.CJK == queries.CJK
    for title, content in texts:
        make_ticket(content, title=title)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE search_document = to_tsvector('simple', "
            "regexp_replace(title || ' ' || content, %s, ' \\1 ', 'g'))) FROM tickets_ticket",
            [f"([{queries.CJK}])"],
        )
        total, same = cursor.fetchone()
    assert total == len(texts)
    assert same == total


@requires_postgres
@pytest.mark.django_db
def test_the_search_follows_the_ticket_table_into_a_subquery(make_ticket: Any) -> None:
    lamp = make_ticket("路灯坏了。", title="路灯")
    make_ticket("噪音扰民。", title="噪音")
    matching = queries._search(Ticket.objects.all(), "路灯").values("pk")
    # As a subquery Django renames the inner ticket table (U0); the document must follow it.
    events = TicketEvent.objects.filter(ticket__in=matching)
    assert set(events.values_list("ticket_id", flat=True)) == {lamp.pk}
