"""Inbox websockets: department-scoped pushes and presence on the ticket page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from tickets import services
from tickets.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def connect(user: Any, path: str = "/ws/inbox/") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    assert connected, code
    return communicator


async def nothing(communicator: WebsocketCommunicator) -> bool:
    return await communicator.receive_nothing(timeout=0.3)


async def next_change(communicator: WebsocketCommunicator) -> dict[str, Any]:
    while True:
        message = await communicator.receive_json_from(timeout=3)
        if message["type"] == "ticket.changed":
            return message


def test_it_pushes_a_new_ticket_to_dispatchers_but_not_to_department_handlers(
    cast: dict[str, Any], make_ticket: Any
) -> None:
    async def scenario() -> None:
        dispatcher = await connect(cast["dispatcher"])
        handler = await connect(cast["handler_a"])
        ticket = await sync_to_async(make_ticket)()
        message = await next_change(dispatcher)
        assert message == {
            "type": "ticket.changed",
            "ticket_id": ticket.pk,
            "event_id": message["event_id"],
            "kind": "created",
            "state": "new",
        }
        assert await nothing(handler)
        await dispatcher.disconnect()
        await handler.disconnect()

    run(scenario)


def test_it_pushes_an_assigned_ticket_only_to_that_departments_handlers(
    cast: dict[str, Any], make_ticket: Any, departments: Any
) -> None:
    async def scenario() -> None:
        ticket = await sync_to_async(make_ticket)()
        handler_a = await connect(cast["handler_a"])
        handler_a1 = await connect(cast["handler_a1"])
        handler_b = await connect(cast["handler_b"])

        def assign() -> None:
            services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
            services.ticket_assign(
                actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["a"].pk
            )

        await sync_to_async(assign)()
        message = await next_change(handler_a)
        assert (message["ticket_id"], message["kind"], message["state"]) == (
            ticket.pk,
            "assign",
            "assigned",
        )
        assert await nothing(handler_a1)  # a section below does not see its bureau's cases
        assert await nothing(handler_b)
        for communicator in (handler_a, handler_a1, handler_b):
            await communicator.disconnect()

    run(scenario)


def test_it_tells_the_old_department_when_a_ticket_is_transferred_away(
    cast: dict[str, Any], make_ticket: Any, departments: Any
) -> None:
    async def scenario() -> None:
        ticket = await sync_to_async(make_ticket)()

        def to_a() -> None:
            services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
            services.ticket_assign(
                actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["a"].pk
            )
            services.ticket_accept(actor=cast["handler_a"], ticket_id=ticket.pk)

        await sync_to_async(to_a)()
        handler_a = await connect(cast["handler_a"])
        handler_b = await connect(cast["handler_b"])
        await sync_to_async(services.ticket_transfer)(
            actor=cast["handler_a"],
            ticket_id=ticket.pk,
            department_id=departments["b"].pk,
            reason="属于住建局职责",
        )
        for communicator in (handler_a, handler_b):
            message = await next_change(communicator)
            assert (message["ticket_id"], message["kind"]) == (ticket.pk, "transfer")
            await communicator.disconnect()

    run(scenario)


def test_it_refuses_a_socket_to_anyone_without_a_role(cast: dict[str, Any]) -> None:
    async def scenario() -> None:
        for user in (AnonymousUser(), cast["outsider"]):
            communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/inbox/")
            communicator.scope["user"] = user
            connected, code = await communicator.connect()
            assert not connected and code == 4403

    run(scenario)


def test_it_shows_who_else_is_viewing_a_ticket_and_when_they_leave(
    cast: dict[str, Any], make_ticket: Any, departments: Any
) -> None:
    ticket = make_ticket()
    path = f"/ws/inbox/tickets/{ticket.pk}/"

    async def roster(communicator: WebsocketCommunicator) -> list[str]:
        while True:
            message = await communicator.receive_json_from(timeout=3)
            if message["type"] == "presence":
                return [viewer["name"] for viewer in message["viewers"]]

    async def scenario() -> None:
        first = await connect(cast["dispatcher"], path)
        assert await roster(first) == []
        second = await connect(cast["admin"], path)
        assert await roster(first) == ["admin"]
        seen_by_second = await roster(second)
        while seen_by_second != ["dispatcher"]:
            seen_by_second = await roster(second)
        await second.disconnect()
        assert await roster(first) == []
        await first.disconnect()

    run(scenario)


def test_it_tells_the_ticket_page_about_changes_to_its_ticket_only(
    cast: dict[str, Any], make_ticket: Any
) -> None:
    ticket, other = make_ticket(), make_ticket()

    async def scenario() -> None:
        page = await connect(cast["dispatcher"], f"/ws/inbox/tickets/{ticket.pk}/")
        await page.receive_json_from(timeout=3)  # the first roster
        await sync_to_async(services.ticket_acknowledge)(
            actor=cast["dispatcher"], ticket_id=other.pk
        )
        await sync_to_async(services.ticket_acknowledge)(
            actor=cast["dispatcher"], ticket_id=ticket.pk
        )
        message = await next_change(page)
        assert (message["ticket_id"], message["kind"]) == (ticket.pk, "acknowledge")
        await page.disconnect()

    run(scenario)


def test_it_refuses_the_ticket_socket_for_a_ticket_the_user_may_not_see(
    cast: dict[str, Any], make_ticket: Any
) -> None:
    ticket = make_ticket()

    async def scenario() -> None:
        communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/inbox/tickets/{ticket.pk}/"
        )
        communicator.scope["user"] = cast["handler_b"]
        connected, code = await communicator.connect()
        assert not connected and code == 4403
        await asyncio.sleep(0)

    run(scenario)
