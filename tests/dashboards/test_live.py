"""The dashboard moves live: a reply pushes new figures to an open dashboard websocket."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from dashboards.consumers import DashboardConsumer
from dashboards.values import Period
from tests.conftest import walk
from tickets import services


@pytest.mark.django_db(transaction=True)
def test_it_pushes_new_figures_when_a_ticket_is_replied(
    cast, departments, make_ticket, monkeypatch
):
    monkeypatch.setattr(DashboardConsumer, "debounce_seconds", 0.05)
    ticket = walk(make_ticket(), cast, departments, "in_progress")

    async def scenario() -> dict:
        month = Period.month_of(timezone.now()).key  # the default is last month
        communicator = WebsocketCommunicator(
            DashboardConsumer.as_asgi(), f"/ws/dashboards/?month={month}"
        )
        communicator.scope["user"] = cast["leadership"]
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "refresh"})
        before = await communicator.receive_json_from(timeout=10)
        await sync_to_async(services.ticket_reply)(
            actor=cast["handler_a"], ticket_id=ticket.pk, content="路灯已修复。"
        )
        after = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return {"before": before, "after": after}

    result = async_to_sync(scenario)()
    assert result["before"]["summary"]["reply_rate"] == "0.0%"
    assert result["after"]["type"] == "figures"
    assert result["after"]["summary"]["reply_rate"] == "100.0%"
    assert result["after"]["summary"]["received"] == "1"
    assert "data-summary>100.0%</td>" in result["after"]["html"]


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_websocket_without_a_dashboard_role(cast):
    async def scenario() -> bool:
        communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboards/")
        communicator.scope["user"] = cast["outsider"]
        connected, _ = await communicator.connect()
        return connected

    assert async_to_sync(scenario)() is False
