"""Who sees which dashboard (issue 17, item 6): the access matrix per role, over every page
and the live websocket, and the month the dashboard opens on."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from dashboards.consumers import DashboardConsumer
from tests.dashboards.conftest import at

NOW = at("2026-04-01 02:00")
ROLES = ("leadership", "admin", "dispatcher", "supervisor_a", "supervisor_b", "handler_a",
         "handler_a1", "handler_b", "outsider")  # fmt: skip


@pytest.fixture
def april(time_machine):
    time_machine.move_to(NOW, tick=False)


def _get(client: Any, user: Any, path: str) -> Any:
    client.force_login(user)
    return client.get(path)


# received in March (the ``march`` fixture: a has t1-t4, b has t6, t5 was never assigned)
# for each role, on its own dashboard and on the dashboards of a, a1 and b (None: refused)
MATRIX = {
    "leadership": (6, 4, 0, 1),
    "admin": (6, 4, 0, 1),
    "dispatcher": (6, 4, 0, 1),
    "supervisor_a": (4, 4, 0, None),
    "supervisor_b": (1, None, None, 1),
    "handler_a": (4, 4, None, None),
    "handler_a1": (0, None, 0, None),
    "handler_b": (1, None, None, 1),
    "outsider": (None, None, None, None),
}


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_each_role_open_only_the_dashboards_of_its_scope(
    client, cast, march, departments, april, role
):
    own, *picked = MATRIX[role]
    response = _get(client, cast[role], "/dashboards/?month=2026-03")
    if own is None:
        assert response.status_code == 403 and "无权查看" in response.content.decode()
    else:
        assert response.status_code == 200 and response.context["summary"].received == own
    for code, expected in zip(("a", "a1", "b"), picked, strict=True):
        query = f"?month=2026-03&department={departments[code].pk}"
        page = client.get(f"/dashboards/{query}")
        csv = client.get(f"/dashboards/csv/summary/{query}")
        workload = client.get(f"/dashboards/workload/{query}")
        if expected is None:
            assert (page.status_code, csv.status_code, workload.status_code) == (403,) * 3, code
            if own is not None:
                assert "您只能查看本部门" in page.content.decode()
        else:
            assert (page.status_code, csv.status_code, workload.status_code) == (200,) * 3, code
            assert page.context["summary"].received == expected, code


@pytest.mark.parametrize("role", ROLES)
def test_it_keeps_the_monthly_reports_to_citywide_viewers(client, cast, april, role):
    reads = role in ("leadership", "admin", "dispatcher")
    orders = role in ("leadership", "admin")
    assert _get(client, cast[role], "/dashboards/reports/").status_code == (200 if reads else 403)
    response = client.post("/dashboards/reports/request/", {"month": "2026-02"})
    assert response.status_code == (302 if orders else 403)


def test_it_offers_each_viewer_only_the_departments_it_may_open(client, cast, march, april):
    names = {
        role: [d.name for d in _get(client, cast[role], "/dashboards/").context["departments"]]
        for role in ("leadership", "supervisor_a", "handler_a")
    }
    assert names["leadership"] == ["城管局", "市容科", "住建局", "物业科", "青山区"]
    assert names["supervisor_a"] == ["城管局", "市容科"]
    assert names["handler_a"] == []
    html = _get(client, cast["handler_a"], "/dashboards/").content.decode()
    assert "部门：城管局" in html and 'name="department"' not in html


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_websocket_for_another_departments_dashboard(cast, departments):
    @async_to_sync
    async def connects(user: Any, query: str) -> bool:
        communicator = WebsocketCommunicator(
            DashboardConsumer.as_asgi(), f"/ws/dashboards/?{query}"
        )
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    a, b = departments["a"].pk, departments["b"].pk
    assert connects(cast["handler_a"], f"department={a}") is True
    assert connects(cast["handler_a"], f"department={b}") is False
    assert connects(cast["supervisor_a"], f"department={departments['a1'].pk}") is True
    assert connects(cast["supervisor_b"], f"department={a}") is False
    assert connects(cast["leadership"], f"department={b}") is True


@pytest.mark.parametrize(
    ("now", "month", "label"),
    [
        ("2026-04-01 02:00", "2026-03", "2026年3月"),
        ("2026-03-31 23:59", "2026-02", "2026年2月"),
        ("2026-01-15 12:00", "2025-12", "2025年12月"),
    ],
)
def test_it_opens_on_the_last_complete_month(client, cast, march, time_machine, now, month, label):
    time_machine.move_to(at(now), tick=False)
    response = _get(client, cast["leadership"], "/dashboards/")
    assert response.context["period"].key == month
    html = response.content.decode()
    assert f'name="month" value="{month}"' in html and label in html
    march_figures = _get(client, cast["leadership"], "/dashboards/?month=2026-03")
    assert march_figures.context["period"].key == "2026-03"
    assert "已显示上月" in client.get("/dashboards/?month=abc").content.decode()
