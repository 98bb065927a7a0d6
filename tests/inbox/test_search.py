"""The queue's search beyond the basics in test_queue: closed cases, edits, scoping, and the
stored search document on PostgreSQL (migration 0008)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import requires_postgres, walk
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.views import queries


def case_nos(body: str) -> set[str]:
    return set(re.findall(r'<td class="case-no"[^>]*><a href="/inbox/tickets/(\d+)/"', body))


def test_it_searches_every_state_unless_the_state_filter_narrows_it(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    closed = walk(make_ticket("和平街的路灯坏了。", title="路灯损坏"), cast, departments, "closed")
    open_ = make_ticket("解放大道的路灯不亮。", title="路灯不亮")
    client = client_for("dispatcher")

    def found(**params: str) -> set[str]:
        return case_nos(client.get("/inbox/", params).content.decode())

    assert found() == {open_.case_no}  # without a search the queue shows open cases
    assert found(q="路灯") == {open_.case_no, closed.case_no}  # a search finds any state
    assert found(q="路灯", state="closed") == {closed.case_no}
    assert found(q="路灯", state="new") == {open_.case_no}
    assert found(q="和平街") == {closed.case_no}
    assert found(q="解放大道", state="closed") == set()
    assert "搜索范围：全部状态" in client.get("/inbox/", {"q": "路灯"}).content.decode()


def test_it_finds_a_case_by_number_phone_or_name_whatever_its_state(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    replied = walk(
        make_ticket("小区电梯坏了。", title="电梯", sender_id="13912345678", sender_name="赵小红"),
        cast,
        departments,
        "replied",
    )
    merged = make_ticket("电梯又停了。", title="电梯", sender_id="13700000001")
    target = make_ticket("三号楼电梯停运。", title="电梯停运", sender_id="13700000002")
    services.ticket_merge(
        actor=cast["dispatcher"], ticket_id=merged.pk, into_case_no=target.case_no
    )
    other = make_ticket("路灯坏了。", title="路灯", sender_id="13912340000", sender_name="赵小")
    client = client_for("dispatcher")

    def found(q: str) -> set[str]:
        return case_nos(client.get("/inbox/", {"q": q}).content.decode())

    assert found(replied.case_no) == {replied.case_no}
    assert found(merged.case_no) == {merged.case_no}
    for typed in ("13912345678", "139 1234 5678", "139-1234-5678", "+86 13912345678"):
        assert found(typed) == {replied.case_no}, typed
    assert found("13700000001") == {merged.case_no}
    assert found("赵小红") == {replied.case_no}  # the whole name, not a part of it
    assert found("赵小") == {other.case_no}
    assert found("1391234") == set()  # a part of a number is not that number


def test_it_lists_open_matches_first_then_the_settled_ones_newest_first_across_pages(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    settled = [
        walk(make_ticket(f"井盖丢失 {n}。", title="井盖"), cast, departments, "replied")
        for n in range(3)
    ]
    opened = [make_ticket(f"井盖松动 {n}。", title="井盖") for n in range(3)]
    client = client_for("dispatcher")
    body = client.get("/inbox/", {"q": "井盖"}).content.decode()
    everything = re.findall(r'<td class="case-no"[^>]*><a href="/inbox/tickets/(\d+)/"', body)
    assert everything == [t.case_no for t in opened] + [t.case_no for t in reversed(settled)]

    shown: list[str] = []
    cursor = ""
    for _ in range(6):  # pages of two: open, open | settled... | the cursor crosses over
        page = queries.queue_page(
            queryset=queries.ticket_queryset_for_inbox(
                user=cast["dispatcher"],
                filters=queries.QueueFilter(q="井盖"),
                now=timezone.now(),
            ),
            cursor=cursor,
            limit=2,
            settled=True,
        )
        shown += [row["case_no"] for row in page.rows]
        cursor = page.cursor
        if not cursor:
            break
    assert shown == everything


def test_it_reads_a_search_page_in_the_same_number_of_queries_however_many_match(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    client = client_for("dispatcher")

    def count(q: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/inbox/", {"q": q}).status_code == 200
        return len(captured)

    walk(
        make_ticket("水管爆裂。", title="水管", sender_name="钱多多"), cast, departments, "replied"
    )
    few = (count("水管"), count("钱多多"))
    for n in range(5):
        walk(
            make_ticket(f"水管漏水 {n}。", title="水管", sender_name="钱多多"),
            cast,
            departments,
            "closed",
        )
        make_ticket(f"水管冻裂 {n}。", title="水管", sender_name="钱多多")
    assert (count("水管"), count("钱多多")) == few


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


def test_it_never_finds_another_departments_case_by_number_phone_or_name(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    """The scoping matrix of a search in any state: a closed case of bureau a is found by its
    number, phone, name and text by the citywide roles and by a's handler and supervisor; not
    by the handler of a's section (the case sits above it) nor by anyone in b."""
    closed = walk(
        make_ticket("幸福小区停电。", title="停电", sender_id="13655556666", sender_name="孙立"),
        cast,
        departments,
        "closed",
    )
    expected = {
        "dispatcher": {closed.case_no},
        "leadership": {closed.case_no},
        "admin": {closed.case_no},
        "handler_a": {closed.case_no},
        "supervisor_a": {closed.case_no},
        "handler_a1": set(),
        "handler_b": set(),
        "supervisor_b": set(),
    }
    for who, cases in expected.items():
        client = client_for(who)
        for q in (closed.case_no, "13655556666", "孙立", "停电"):
            body = client.get("/inbox/", {"q": q}).content.decode()
            assert case_nos(body) == cases, (who, q)


@requires_postgres
def test_it_shows_the_open_matches_and_says_so_when_the_settled_ones_take_too_long(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any, monkeypatch: Any
) -> None:
    open_ = make_ticket("路灯不亮。", title="路灯")
    closed = walk(make_ticket("路灯坏了。", title="路灯"), cast, departments, "closed")
    client = client_for("dispatcher")
    assert case_nos(client.get("/inbox/", {"q": "路灯"}).content.decode()) == {
        open_.case_no,
        closed.case_no,
    }
    with connection.cursor() as cursor:  # the search's own limit does not outlive it
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"

    def slow(queryset: Any, *, before: Any, count: int) -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")  # far past the limit below
        return []

    monkeypatch.setattr(queries, "SETTLED_TIMEOUT_MS", 50)
    monkeypatch.setattr(queries, "_settled_rows", slow)
    body = client.get("/inbox/", {"q": "路灯"}).content.decode()
    assert case_nos(body) == {open_.case_no}
    assert "已答复、已办结等工单未能在限定时间内查完" in body
    # The request's connection is left as it was: no timeout lingers.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
    assert Ticket.objects.filter(pk=closed.pk).exists()


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
