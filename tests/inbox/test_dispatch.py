"""Dispatching from the inbox: a returned case leaves its department, the assignee list follows
the department picked, departments are shown and filtered as a tree."""

from __future__ import annotations

import importlib
import re
from typing import Any

from django.apps import apps

from tests.conftest import walk
from tickets import services
from tickets.models import Department, Ticket
from tickets.views.departments import DepartmentNode, department_tree, subtree_ids


def case_nos(body: str) -> set[str]:
    return set(re.findall(r'<td class="case-no"[^>]*><a href="/inbox/tickets/(\d+)/"', body))


def options(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<option value="([^"]*)"(?: selected)?>(.*?)</option>', html)


def test_it_no_longer_shows_the_old_department_after_a_return(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(title="路灯不亮"), cast, departments, "assigned")
    services.ticket_return(actor=cast["handler_a"], ticket_id=ticket.pk, reason="不属本部门职责")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department_id, ticket.assignee_id) == ("acknowledged", None, None)

    dispatcher = client_for("dispatcher")
    queue = dispatcher.get("/inbox/").content.decode()
    row = re.search(rf'<tr id="ticket-{ticket.pk}".*?</tr>', queue, re.S).group(0)
    assert '<td data-label="部门">—</td>' in row and "城管局" not in row
    page = dispatcher.get(f"/inbox/tickets/{ticket.case_no}/").content.decode()
    assert "承办：未派单" in page
    # The timeline still says who returned it, and why.
    returned = re.search(r'<li class="event kind-return_to_dispatch.*?</li>', page, re.S).group(0)
    assert "部门：</span>城管局" in returned and "理由：</span>不属本部门职责" in returned
    # The department that returned it no longer has it.
    assert ticket.case_no not in client_for("handler_a").get("/inbox/").content.decode()
    assert client_for("handler_a").get(f"/inbox/tickets/{ticket.case_no}/").status_code == 404
    # Dispatched again, to b this time.
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["b"].pk
    )
    assert ticket.case_no in client_for("handler_b").get("/inbox/").content.decode()


def test_the_data_migration_clears_only_cases_waiting_after_a_return(
    make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    returned = walk(make_ticket(), cast, departments, "assigned")
    services.ticket_return(actor=cast["handler_a"], ticket_id=returned.pk, reason="不属本部门")
    redispatched = walk(make_ticket(), cast, departments, "assigned")
    services.ticket_return(actor=cast["handler_a"], ticket_id=redispatched.pk, reason="退回")
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=redispatched.pk, department_id=departments["b"].pk
    )
    preset = walk(make_ticket(), cast, departments, "acknowledged")  # e.g. a 12345 order
    # As the data stood before the transition cleared the department:
    Ticket.objects.filter(pk__in=[returned.pk, preset.pk]).update(department=departments["a"])
    migration = importlib.import_module("tickets.migrations.0017_returned_tickets_leave_department")
    migration.clear_returned(apps, None)
    departments_now = dict(Ticket.objects.values_list("pk", "department_id"))
    assert departments_now[returned.pk] is None
    assert departments_now[redispatched.pk] == departments["b"].pk
    assert departments_now[preset.pk] == departments["a"].pk


def test_it_offers_the_handlers_of_the_department_picked(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any, categories: Any
) -> None:
    ticket = walk(make_ticket(category_code="housing"), cast, departments, "acknowledged")
    client = client_for("dispatcher")
    url = f"/inbox/tickets/{ticket.case_no}/assignees/"

    def offered(**params: Any) -> set[str]:
        response = client.get(url, params)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.startswith('<select name="assignee"') and 'id="id_assignee"' in html
        return {label.split("（")[0] for value, label in options(html) if value}

    # Bureau a and the section below it; the section alone; bureau b.
    assert offered(department=departments["a"].pk) == {"handler_a", "handler_a1", "supervisor_a"}
    assert offered(department=departments["a1"].pk) == {"handler_a1"}
    assert offered(department=departments["b"].pk) == {"handler_b", "supervisor_b"}
    # Left on "the category's default": the default department's (物业 → bureau b).
    assert offered(department="") == {"handler_b", "supervisor_b"}
    assert offered(department="abc") == {"handler_b", "supervisor_b"}  # no 500 either
    assert offered(department=999999) == set()

    # The ticket page starts on the category's default and its handlers, and refetches on change.
    page = client.get(f"/inbox/tickets/{ticket.case_no}/").content.decode()
    form = re.search(r'<details class="action action-assign".*?</details>', page, re.S).group(0)
    department = re.search(r'<select name="department"[^>]*>', form).group(0)
    assert f'hx-get="{url}"' in department and 'hx-target="#id_assignee"' in department
    assignee = re.search(r'<select name="assignee".*?</select>', form, re.S).group(0)
    assert {label.split("（")[0] for value, label in options(assignee) if value} == {
        "handler_b",
        "supervisor_b",
    }
    # Someone who may not see the case gets nothing.
    assert client_for("handler_a").get(url).status_code == 404


def test_it_keeps_the_picked_department_and_its_handlers_when_the_form_comes_back(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "acknowledged")  # no category
    client = client_for("dispatcher")
    response = client.post(
        f"/inbox/tickets/{ticket.case_no}/assign/",
        {
            "expected_version": ticket.version,
            "department": departments["a"].pk,
            "assignee": cast["handler_b"].pk,  # not in bureau a
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "承办人必须是该部门的承办人或负责人。" in body
    form = re.search(r'<details class="action action-assign".*?</details>', body, re.S).group(0)
    assignee = re.search(r'<select name="assignee".*?</select>', form, re.S).group(0)
    assert {label.split("（")[0] for value, label in options(assignee) if value} == {
        "handler_a",
        "handler_a1",
        "supervisor_a",
    }
    assert Ticket.objects.get(pk=ticket.pk).state == "acknowledged"


def test_it_orders_departments_as_a_tree() -> None:
    rows = [
        (1, None, "qingshan", "青山区"),
        (2, 1, "b", "住建局"),
        (3, 1, "a", "城管局"),
        (4, 3, "a1", "市容科"),
        (5, 99, "orphan", "孤立科"),  # parent inactive or gone: a root of its own
        (6, 7, "x", "甲"),  # a cycle in bad data is cut, not looped over
        (7, 6, "y", "乙"),
        (8, None, "aaa", "另一区"),
    ]
    nodes = department_tree(rows)
    assert [(node.name, node.depth) for node in nodes] == [
        ("另一区", 0),
        ("孤立科", 0),
        ("青山区", 0),
        ("城管局", 1),
        ("市容科", 2),
        ("住建局", 1),
    ]
    assert nodes[4] == DepartmentNode(pk=4, name="市容科", depth=2, path=(1, 3, 4))
    assert nodes[4].label == "\u3000\u3000└ 市容科"
    assert subtree_ids(nodes, 3) == [3, 4]
    assert subtree_ids(nodes, 1) == [1, 3, 4, 2]


def test_it_filters_the_queue_by_a_department_and_those_below_it(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: dict[str, Department]
) -> None:
    bureau = walk(make_ticket(), cast, departments, "assigned")  # to bureau a
    section = walk(make_ticket(), cast, departments, "acknowledged")
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=section.pk, department_id=departments["a1"].pk
    )
    other = walk(make_ticket(), cast, departments, "acknowledged")
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=other.pk, department_id=departments["b"].pk
    )
    client = client_for("dispatcher")

    def shown(department: Department) -> set[str]:
        return case_nos(client.get("/inbox/", {"department": department.pk}).content.decode())

    assert shown(departments["a"]) == {bureau.case_no, section.case_no}
    assert shown(departments["a1"]) == {section.case_no}
    assert shown(departments["district"]) == {bureau.case_no, section.case_no, other.case_no}
