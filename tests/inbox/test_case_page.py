"""Around one case on the ticket page: the duplicates merged into it, the citizen's other cases
and the notices sent to the citizen, each within the reader's departments; the print view."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.models import OutboxMessage
from integrations.outbound.processor import outbox_process
from tests.conftest import walk
from tickets import services
from tickets.models import Ticket
from tickets.selectors_case import citizen_earlier_cases, ticket_duplicates, ticket_notices


def section(body: str, section_id: str) -> str:
    match = re.search(rf'<section class="card related" id="{section_id}">.*?</section>', body, re.S)
    return match.group(0) if match else ""


def linked(html: str) -> set[str]:
    return set(re.findall(r'<a href="/inbox/tickets/(\d+)/">', html))


def to(ticket: Ticket, department: Any, cast: dict[str, Any]) -> Ticket:
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    return services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=department.pk
    )


def test_the_merged_into_case_lists_its_duplicates_each_reader_may_see(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    target = walk(make_ticket("三号楼电梯停运。", title="电梯"), cast, departments, "in_progress")
    unassigned = make_ticket("电梯又坏了。", title="电梯坏了")
    in_a = to(make_ticket("电梯停了两天。", title="电梯停"), departments["a"], cast)
    in_b = to(make_ticket("三号楼电梯不动。", title="电梯不动"), departments["b"], cast)
    for duplicate in (unassigned, in_a, in_b):
        services.ticket_merge(
            actor=cast["dispatcher"], ticket_id=duplicate.pk, into_case_no=target.case_no
        )
    everyone = {unassigned.case_no, in_a.case_no, in_b.case_no}
    expected = {
        "dispatcher": everyone,
        "leadership": everyone,
        "admin": everyone,
        "handler_a": {in_a.case_no},
        "supervisor_a": {in_a.case_no},
    }
    for who, cases in expected.items():
        body = client_for(who).get(f"/inbox/tickets/{target.case_no}/").content.decode()
        assert linked(section(body, "duplicates")) == cases, who
        assert {line.case_no for line in ticket_duplicates(user=cast[who], ticket=target)} == cases
    assert (
        "合并到本件的重复诉求（3）"
        in client_for("dispatcher").get(f"/inbox/tickets/{target.case_no}/").content.decode()
    )
    for who in ("handler_b", "supervisor_b", "handler_a1"):
        assert client_for(who).get(f"/inbox/tickets/{target.case_no}/").status_code == 404
    # A duplicate's own page still points at the case it joined.
    body = client_for("dispatcher").get(f"/inbox/tickets/{in_b.case_no}/").content.decode()
    assert f'已合并到 <a href="/inbox/tickets/{target.case_no}/">' in body


def test_it_lists_the_citizens_other_cases_each_reader_may_see(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    phone = "13512345678"
    earlier_a = walk(
        make_ticket("路灯坏了。", title="路灯", sender_id=phone), cast, departments, "closed"
    )
    earlier_b = to(
        make_ticket("物业乱收费。", title="物业", sender_id=phone), departments["b"], cast
    )
    waiting = make_ticket("小区停水。", title="停水", sender_id=phone)
    current = walk(
        make_ticket("井盖丢了。", title="井盖", sender_id=phone), cast, departments, "in_progress"
    )
    stranger = make_ticket("噪音扰民。", title="噪音", sender_id="13600000000")
    expected = {
        "dispatcher": {earlier_a.case_no, earlier_b.case_no, waiting.case_no},
        "handler_a": {earlier_a.case_no},
        "supervisor_a": {earlier_a.case_no},
    }
    for who, cases in expected.items():
        body = client_for(who).get(f"/inbox/tickets/{current.case_no}/").content.decode()
        assert linked(section(body, "earlier-cases")) == cases, who
        assert stranger.case_no not in body
    lines, more = citizen_earlier_cases(user=cast["dispatcher"], ticket=current, limit=2)
    assert [line.case_no for line in lines] == [waiting.case_no, earlier_b.case_no]  # newest
    assert more is True
    assert lines[0].state_label == "待受理" and lines[1].department == "住建局"
    body = client_for("handler_a").get(f"/inbox/tickets/{stranger.case_no}/")
    assert body.status_code == 404


def test_it_shows_the_notices_sent_to_the_citizen_and_how(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(sender_id="13812348000"), cast, departments, "in_progress")
    services.ticket_request_info(actor=cast["handler_a"], ticket_id=ticket.pk, question="请拍照")
    outbox_process()  # the worker sends them (SMS through the log backend in tests)
    notices = ticket_notices(ticket=ticket)
    assert [(n.kind, n.status) for n in notices] == [
        ("受理通知", "sent"),
        ("请补充材料", "sent"),
    ]
    assert notices[0].way == "短信 138****8000" and notices[0].sent_at is not None
    assert ticket.case_no in notices[0].text and "请拍照" in notices[1].text
    body = client_for("handler_a").get(f"/inbox/tickets/{ticket.case_no}/").content.decode()
    shown = section(body, "notices")
    assert '受理通知</strong> · 短信 138****8000 · <span class="notice-status">已发送' in shown
    assert "请补充材料" in shown and "13812348000" not in shown
    # One that could not be delivered says why.
    OutboxMessage.objects.filter(ticket=ticket).update(status="undeliverable", last_error="无号码")
    shown = section(
        client_for("handler_a").get(f"/inbox/tickets/{ticket.case_no}/").content.decode(),
        "notices",
    )
    assert "无法送达" in shown and "无号码" in shown
    # The other department never gets the page (nor its notices).
    assert client_for("handler_b").get(f"/inbox/tickets/{ticket.case_no}/").status_code == 404


def test_it_reads_the_page_in_the_same_number_of_queries_however_many_related_cases(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    phone = "13700001111"
    target = make_ticket("电梯停运。", title="电梯", sender_id=phone)
    client = client_for("dispatcher")

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/inbox/tickets/{target.case_no}/").status_code == 200
        return len(captured)

    def add() -> None:
        make_ticket("又停了。", title="电梯", sender_id=phone)
        duplicate = make_ticket("电梯坏了。", title="电梯")
        services.ticket_merge(
            actor=cast["dispatcher"], ticket_id=duplicate.pk, into_case_no=target.case_no
        )

    add()
    few = count()
    for _ in range(4):
        add()
    assert count() == few
