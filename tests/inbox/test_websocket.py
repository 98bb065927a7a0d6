"""A sweep's batch of changes over the websockets: one group message per batch, which each
open page still sees as one ``ticket.changed`` per ticket it may see."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from dashboards.consumers import DashboardConsumer
from sla.sweep import sweep_once
from tests.conftest import CHINA, walk
from tickets import live, services
from tickets.models import Ticket, TicketEvent
from tickets.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

# Tuesday 2026-05-12 10:00; the pass runs on Thursday at 00:00:01, when the new tickets owe
# their ack warning, breach and Wednesday's reminder and those in progress their warning.
T0 = dt.datetime(2026, 5, 12, 10, 0, tzinfo=CHINA)
PASS = dt.datetime(2026, 5, 14, 0, 0, 1, tzinfo=CHINA)


@pytest.fixture
def due(make_ticket: Any, cast: dict[str, Any], departments: Any) -> dict[str, list[Ticket]]:
    """Two new tickets, two in progress in bureau A and one in bureau B."""
    with time_machine.travel(T0, tick=False):
        new = [make_ticket(request_type="consult") for _ in range(2)]
        in_a = [walk(make_ticket(request_type="consult"), cast, departments, "in_progress")]
        in_a.append(walk(make_ticket(request_type="consult"), cast, departments, "in_progress"))
        ticket = make_ticket(request_type="consult")
        services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
        services.ticket_assign(
            actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["b"].pk
        )
        in_b = [services.ticket_accept(actor=cast["handler_b"], ticket_id=ticket.pk)]
    return {"new": new, "a": in_a, "b": in_b}


def sweep() -> Any:
    with time_machine.travel(PASS, tick=False):
        return sweep_once(batch_size=3)


async def connect(user: Any, path: str = "/ws/inbox/") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    assert connected, code
    return communicator


async def changes(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Every ``ticket.changed`` frame until the socket goes quiet."""
    frames = []
    while not await communicator.receive_nothing(timeout=0.5):
        frame = await communicator.receive_json_from(timeout=3)
        if frame["type"] == "ticket.changed":
            frames.append(frame)
    return frames


def sla_events() -> list[tuple[int, int, str, str]]:
    return list(
        TicketEvent.objects.filter(kind__startswith="sla_")
        .order_by("id")
        .values_list("ticket_id", "pk", "kind", "to_state")
    )


def frames_of(events: list[tuple[int, int, str, str]], ids: set[int]) -> list[dict[str, Any]]:
    return [
        {"type": "ticket.changed", "ticket_id": t, "event_id": e, "kind": k, "state": s}
        for t, e, k, s in events
        if t in ids
    ]


def test_a_pass_sends_each_group_one_message_listing_its_changes(
    due: dict[str, list[Ticket]], departments: Any
) -> None:
    layer = get_channel_layer()

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        received: dict[str, list[dict[str, Any]]] = {}
        channels = {}
        for group in (live.INBOX_GROUP, live.department_group(departments["a"].pk)):
            channels[group] = await layer.new_channel()
            await layer.group_add(group, channels[group])
        # Listening before the pass: the layer stamps messages with the (travelled) time.
        first = {group: asyncio.ensure_future(layer.receive(c)) for group, c in channels.items()}
        report = await sync_to_async(sweep)()
        assert sum(report.handled.values()) == 2 * 3 + 3
        for group, channel in channels.items():
            received[group] = [await asyncio.wait_for(first[group], 3)]
            with pytest.raises(asyncio.TimeoutError):  # and nothing more
                received[group].append(await asyncio.wait_for(layer.receive(channel), 0.5))
        return received

    received = async_to_sync(scenario)()
    events = sla_events()
    everyone = received[live.INBOX_GROUP][0]
    assert everyone["type"] == "ticket.changed"
    assert [(i["ticket_id"], i["event_id"], i["kind"], i["state"]) for i in everyone["items"]] == [
        (t, e, k, s) for t, e, k, s in events
    ]
    in_a = received[live.department_group(departments["a"].pk)][0]
    assert {item["ticket_id"] for item in in_a["items"]} == {t.pk for t in due["a"]}
    assert all(item["department_id"] == departments["a"].pk for item in in_a["items"])


def test_every_page_sees_one_change_per_ticket_it_may_see(
    due: dict[str, list[Ticket]], cast: dict[str, Any]
) -> None:
    watched = due["a"][0]

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        sockets = {
            "dispatcher": await connect(cast["dispatcher"]),
            "handler_a": await connect(cast["handler_a"]),
            "handler_b": await connect(cast["handler_b"]),
            "page": await connect(cast["handler_a"], f"/ws/inbox/tickets/{watched.pk}/"),
        }
        await sockets["page"].receive_json_from(timeout=3)  # the first roster
        await sync_to_async(sweep)()
        seen = {name: await changes(socket) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return seen

    seen = async_to_sync(scenario)()
    events = sla_events()
    assert len(events) == 2 * 3 + 3
    assert seen["dispatcher"] == frames_of(events, {t for t, _e, _k, _s in events})
    assert seen["handler_a"] == frames_of(events, {t.pk for t in due["a"]})
    assert seen["handler_b"] == frames_of(events, {t.pk for t in due["b"]})
    assert seen["page"] == frames_of(events, {watched.pk})
    assert [frame["kind"] for frame in seen["page"]] == ["sla_warning"]


@pytest.mark.redis
def test_a_quiet_page_still_hears_the_next_change(make_ticket: Any, cast: dict[str, Any]) -> None:
    """A page waits on the channel layer for its next message (channels-redis blocks up to
    5 s per wait): a quiet spell longer than that must not end its connection. A socket
    timeout shorter than the wait once dropped every idle page under CI's load."""
    from django.conf import settings

    if "Redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        pytest.skip("needs the Redis channel layer: set REDIS_URL")
    ticket = make_ticket()

    async def scenario() -> list[dict[str, Any]]:
        socket = await connect(cast["dispatcher"])
        await asyncio.sleep(7)
        await sync_to_async(services.ticket_acknowledge)(
            actor=cast["dispatcher"], ticket_id=ticket.pk
        )
        seen = await changes(socket)
        await socket.disconnect()
        return seen

    seen = async_to_sync(scenario)()
    assert [(f["ticket_id"], f["kind"]) for f in seen] == [(ticket.pk, "acknowledge")]


def test_an_ordinary_change_still_goes_out_as_one_message(
    make_ticket: Any, cast: dict[str, Any]
) -> None:
    ticket = make_ticket()
    layer = get_channel_layer()

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add(live.INBOX_GROUP, channel)
        await sync_to_async(services.ticket_acknowledge)(
            actor=cast["dispatcher"], ticket_id=ticket.pk
        )
        message: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), 3)
        return message

    message = async_to_sync(scenario)()
    assert "items" not in message
    assert (message["ticket_id"], message["kind"], message["state"]) == (
        ticket.pk,
        "acknowledge",
        "acknowledged",
    )


def test_the_dashboard_recomputes_its_figures_after_a_pass(
    due: dict[str, list[Ticket]], cast: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setattr(DashboardConsumer, "debounce_seconds", 0.05)

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboards/")
        communicator.scope["user"] = cast["leadership"]
        connected, _ = await communicator.connect()
        assert connected
        await sync_to_async(sweep)()
        figures: dict[str, Any] = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return figures

    assert async_to_sync(scenario)()["type"] == "figures"
