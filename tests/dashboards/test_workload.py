"""The workload view (issue 17, item 6): open, overdue and replied-this-week per department and
per handler, against cases worked through the real services; what each role sees of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.workload import week_start
from tests.dashboards.conftest import at
from tickets import services
from tickets.models import Department, Role, StaffProfile

NOW = at("03-12 15:00")  # a Thursday: the week began on Monday 03-09


@pytest.fixture
def desk(cast, departments, categories, make_ticket, time_machine) -> dict[str, Any]:
    """Cases on the desks at NOW (March 2026 has no holidays)."""
    made: dict[str, Any] = {}

    def new(name: str, moment: str, **fields: Any) -> int:
        time_machine.move_to(at(moment), tick=False)
        made[name] = make_ticket(f"{name}：路灯不亮。", **fields)
        return made[name].pk

    def act(moment: str, action: str, name: str, who: str = "dispatcher", **kw: Any) -> None:
        time_machine.move_to(at(moment), tick=False)
        getattr(services, f"ticket_{action}")(actor=cast[who], ticket_id=made[name].pk, **kw)

    def to_handler(name: str, day: str, dept: str, handler: str) -> None:
        act(f"{day} 09:05", "acknowledge", name)
        act(f"{day} 09:10", "assign", name, department_id=departments[dept].pk)
        act(f"{day} 09:15", "accept", name, handler)

    new("a_open", "03-11 09:00")  # help, due 03-25
    to_handler("a_open", "03-11", "a", "handler_a")
    new("a_late", "03-02 09:00", request_type="consult")  # due 03-04: overdue
    to_handler("a_late", "03-02", "a", "handler_a")
    new("a_paused", "03-03 09:00", request_type="consult")  # due 03-05, paused: not overdue
    to_handler("a_paused", "03-03", "a", "handler_a")
    act("03-04 10:00", "request_info", "a_paused", "handler_a", question="请提供位置")
    new("a_replied", "03-09 09:00")
    to_handler("a_replied", "03-09", "a", "handler_a")
    act("03-10 10:00", "reply", "a_replied", "handler_a", content="已修复。")
    new("a_last_week", "03-05 09:00")
    to_handler("a_last_week", "03-05", "a", "handler_a")
    act("03-06 10:00", "reply", "a_last_week", "handler_a", content="已修复。")
    new("a1_open", "03-10 09:00")
    to_handler("a1_open", "03-10", "a1", "handler_a1")
    new("b_waiting", "03-02 09:30")  # assigned to b, nobody accepted it: overdue on 03-16
    act("03-02 09:35", "acknowledge", "b_waiting")
    act("03-02 09:40", "assign", "b_waiting", department_id=departments["b"].pk)
    new("b_replied", "03-11 09:00")
    to_handler("b_replied", "03-11", "b", "handler_b")
    act("03-11 16:00", "reply", "b_replied", "handler_b", content="已处理。")
    act("03-11 16:30", "reopen", "b_replied", "supervisor_b", reason="市民不满意")
    act("03-12 10:00", "reply", "b_replied", "handler_b", content="再次处理。")  # one ticket
    new("unread", "03-12 14:00")  # new, its 30 minutes are over
    time_machine.move_to(NOW, tick=False)
    return made


def _rows(response: Any) -> tuple[dict[str, tuple[int, int, int]], dict[str, tuple[int, int, int]]]:
    def numbers(row: Any) -> tuple[int, int, int]:
        return (row.open, row.overdue, row.replied_week)

    context = response.context
    departments = {row.label: numbers(row) for row in context["departments"]}
    departments["合计"] = numbers(context["total"])
    return departments, {row.label: numbers(row) for row in context["handlers"]}


def _workload(client: Any, user: Any, query: str = "") -> Any:
    client.force_login(user)
    response = client.get(f"/dashboards/workload/{query}")
    assert response.status_code == 200
    return response


def test_it_counts_open_overdue_and_replied_this_week_per_department_and_handler(
    client, cast, desk
):
    assert week_start(NOW) == at("03-09 00:00")
    departments, handlers = _rows(_workload(client, cast["leadership"]))
    assert departments == {
        "城管局": (3, 1, 1),  # a_open, a_late (overdue), a_paused; a_replied this week
        "市容科": (1, 0, 0),
        "住建局": (1, 0, 1),  # b_waiting (due 03-16); b_replied twice, counted once
        "物业科": (0, 0, 0),
        "青山区": (0, 0, 0),
        "未派单（待派单）": (1, 1, 0),  # unread, past its 30 minutes
        "合计": (6, 2, 2),
    }
    assert handlers == {
        "handler_a": (3, 1, 1),
        "handler_a1": (1, 0, 0),
        "handler_b": (0, 0, 1),
        "supervisor_a": (0, 0, 0),
        "supervisor_b": (0, 0, 0),
    }
    html = _workload(client, cast["leadership"]).content.decode()
    assert "本周自 3月9日（周一）起" in html and "承办人工作量" in html


def test_it_shows_each_role_only_its_part_of_the_workload(client, cast, departments, desk):
    departments_a, handlers_a = _rows(_workload(client, cast["supervisor_a"]))
    assert departments_a == {"城管局": (3, 1, 1), "市容科": (1, 0, 0), "合计": (4, 1, 1)}
    assert set(handlers_a) == {"handler_a", "handler_a1", "supervisor_a"}
    picked, _ = _rows(
        _workload(client, cast["supervisor_a"], f"?department={departments['a1'].pk}")
    )
    assert picked == {"市容科": (1, 0, 0), "合计": (1, 0, 0)}
    mine, own = _rows(_workload(client, cast["handler_a"]))
    assert mine == {"合计": (4, 1, 1)} and own == {"handler_a": (3, 1, 1)}
    html = _workload(client, cast["handler_a"]).content.decode()
    assert "我的工作量" in html and "城管局（含下级部门）" in html and "handler_a1" not in html
    client.force_login(cast["handler_a"])
    assert client.get(f"/dashboards/workload/?department={departments['a1'].pk}").status_code == 403
    client.force_login(cast["outsider"])
    assert client.get("/dashboards/workload/").status_code == 403


def test_it_reads_the_workload_in_a_fixed_number_of_queries(client, cast, desk):
    client.force_login(cast["leadership"])

    def statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboards/workload/").status_code == 200
        return len(captured.captured_queries)

    before = statements()
    for number in range(5):
        department = Department.objects.create(code=f"x{number}", name=f"部门{number}")
        user = type(cast["handler_a"]).objects.create_user(username=f"h{number}", password="pw")
        StaffProfile.objects.create(user=user, role=Role.HANDLER, department=department)
    assert statements() == before
