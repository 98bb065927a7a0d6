"""Bulk actions on the queue: same services, a result per ticket."""

from __future__ import annotations

from typing import Any

from tests.conftest import walk
from tickets import services
from tickets.models import Ticket, TicketEvent


def results(client: Any) -> str:
    return client.get("/inbox/").content.decode()


def test_it_acknowledges_in_bulk_and_reports_each_ticket(
    client_for: Any, make_ticket: Any, cast: dict[str, Any]
) -> None:
    fresh, stale, other = make_ticket(), make_ticket(), make_ticket()
    services.ticket_add_note(actor=cast["dispatcher"], ticket_id=stale.pk, text="先看一下")
    client = client_for("dispatcher")
    response = client.post(
        "/inbox/bulk/",
        {
            "action": "acknowledge",
            "pick": [f"{fresh.pk}:{fresh.version}", f"{stale.pk}:{stale.version}"],
        },
    )
    assert response.status_code == 302
    body = results(client)
    assert "批量受理结果" in body
    assert f"<strong>{fresh.case_no}</strong>：✓ 成功" in body
    assert f"<strong>{stale.case_no}</strong>：✗ 工单 {stale.case_no} 已被他人修改" in body
    assert Ticket.objects.get(pk=fresh.pk).state == "acknowledged"
    assert Ticket.objects.get(pk=stale.pk).state == "new"
    assert Ticket.objects.get(pk=other.pk).state == "new"
    assert "批量受理结果" not in results(client)  # shown once


def test_it_assigns_in_bulk_through_the_assign_service(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ready = walk(make_ticket(), cast, departments, "acknowledged")
    not_ready = make_ticket()
    client = client_for("dispatcher")
    client.post(
        "/inbox/bulk/",
        {
            "action": "assign",
            "department": departments["b"].pk,
            "pick": [f"{ready.pk}:{ready.version}", f"{not_ready.pk}:{not_ready.version}"],
        },
    )
    body = results(client)
    assert f"<strong>{ready.case_no}</strong>：✓" in body
    assert "不能执行「派单」" in body
    assert Ticket.objects.get(pk=ready.pk).department_id == departments["b"].pk
    assert TicketEvent.objects.filter(ticket=ready, kind="assign").count() == 1


def test_it_merges_in_bulk_into_one_case(client_for: Any, make_ticket: Any) -> None:
    target, dup1, dup2 = make_ticket(), make_ticket(), make_ticket()
    client = client_for("dispatcher")
    client.post(
        "/inbox/bulk/",
        {
            "action": "merge_into",
            "into": target.case_no,
            "pick": [f"{dup1.pk}:{dup1.version}", f"{dup2.pk}:{dup2.version}", f"{target.pk}:1"],
        },
    )
    body = results(client)
    assert Ticket.objects.get(pk=dup1.pk).duplicate_of_id == target.pk
    assert Ticket.objects.get(pk=dup2.pk).state == "merged"
    assert "请填写另一件工单的编号" in body  # the target cannot merge into itself


def test_it_refuses_a_bulk_action_with_nothing_picked(client_for: Any) -> None:
    client = client_for("dispatcher")
    client.post("/inbox/bulk/", {"action": "acknowledge"})
    assert "请先勾选工单" in results(client)


def test_it_reports_a_ticket_the_user_may_not_see_as_not_found(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "acknowledged")
    client = client_for("handler_b")
    client.post("/inbox/bulk/", {"action": "acknowledge", "pick": [f"{ticket.pk}:1"]})
    body = results(client)
    assert ticket.case_no not in body
    assert "工单不存在或您无权查看" in body
