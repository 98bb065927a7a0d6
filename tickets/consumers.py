"""Inbox websockets: staff receive a message when a ticket they may see changes.

``InboxConsumer`` (ws/inbox/) joins the groups of the departments the user may see, so what is
pushed is department-scoped; the page then fetches the row by id over HTTP, with the viewer's
permissions. The consumer itself reads nothing, so a batch of changes costs it no query.
``TicketConsumer`` (ws/inbox/tickets/<id>/) does the same for one ticket's page and adds
presence: who else has that ticket open, through a per-ticket group. Presence needs no
storage: a newcomer announces itself, everyone present answers it directly, a heartbeat keeps
entries fresh and a departure (or silence) removes them, so it works across ASGI workers.
"""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tickets import live
from tickets.errors import TicketNotFound
from tickets.selectors import ticket_access, user_department_ids, user_role

PRESENCE_TTL = 75.0  # seconds without a heartbeat before someone counts as gone


def presence_group(ticket_id: int) -> str:
    return f"presence.ticket.{ticket_id}"


def _display_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


class InboxConsumer(AsyncJsonWebsocketConsumer):
    groups: list[str] = []

    async def connect(self) -> None:
        user = self.scope.get("user")
        scope = await database_sync_to_async(self._groups_for)(user)
        if scope is None or not await self.may_connect(user):
            await self.close(code=4403)
            return
        self.joined = list(scope)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.after_accept(user)

    async def may_connect(self, user: Any) -> bool:
        return True

    async def after_accept(self, user: Any) -> None:
        return None

    @staticmethod
    def _groups_for(user: Any) -> list[str] | None:
        if user_role(user) is None:
            return None
        departments = user_department_ids(user)
        if departments is None:
            return [live.INBOX_GROUP]
        return [live.department_group(pk) for pk in sorted(departments)]

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def ticket_changed(self, message: dict[str, Any]) -> None:
        # A batch (the SLA sweep's) reaches the page as the same one-ticket messages, so the
        # page has one kind of message to handle; it is the group messages that are batched.
        for change in live.changes(message):
            if self.wants(change):
                await self.send_json(
                    {
                        "type": "ticket.changed",
                        **{key: change[key] for key in ("ticket_id", "event_id", "kind", "state")},
                    }
                )

    def wants(self, change: dict[str, Any]) -> bool:
        return True


class TicketConsumer(InboxConsumer):
    """One ticket's page: its changes and who else is looking at it."""

    async def may_connect(self, user: Any) -> bool:
        self.ticket_id = int(self.scope["url_route"]["kwargs"]["ticket_id"])
        try:
            await database_sync_to_async(ticket_access)(user=user, ticket_id=self.ticket_id)
        except TicketNotFound:
            return False
        self.me = {
            "user_id": user.pk,
            "name": await database_sync_to_async(_display_name)(user),
            "channel": self.channel_name,
        }
        self.present: dict[str, dict[str, Any]] = {}
        return True

    async def after_accept(self, user: Any) -> None:
        group = presence_group(self.ticket_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.append(group)
        await self.channel_layer.group_send(group, {"type": "presence.join", **self.me})
        await self._send_roster()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "me"):
            await self.channel_layer.group_send(
                presence_group(self.ticket_id), {"type": "presence.leave", **self.me}
            )
        await super().disconnect(code)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "heartbeat":
            await self.channel_layer.group_send(
                presence_group(self.ticket_id), {"type": "presence.here", **self.me}
            )

    def wants(self, change: dict[str, Any]) -> bool:
        return bool(change.get("ticket_id") == self.ticket_id)

    async def presence_join(self, message: dict[str, Any]) -> None:
        if message["channel"] == self.channel_name:
            return
        self._note(message)
        # Answer the newcomer directly, so it learns who was here before it.
        await self.channel_layer.send(message["channel"], {"type": "presence.here", **self.me})
        await self._send_roster()

    async def presence_here(self, message: dict[str, Any]) -> None:
        if message["channel"] != self.channel_name:
            self._note(message)
            await self._send_roster()

    async def presence_leave(self, message: dict[str, Any]) -> None:
        self.present.pop(message["channel"], None)
        await self._send_roster()

    def _note(self, message: dict[str, Any]) -> None:
        self.present[message["channel"]] = {
            "user_id": message["user_id"],
            "name": message["name"],
            "seen": time.monotonic(),
        }

    async def _send_roster(self) -> None:
        cutoff = time.monotonic() - PRESENCE_TTL
        self.present = {k: v for k, v in self.present.items() if v["seen"] >= cutoff}
        others = {
            entry["user_id"]: entry["name"]
            for entry in self.present.values()
            if entry["user_id"] != self.me["user_id"]
        }
        viewers = [{"user_id": pk, "name": name} for pk, name in sorted(others.items())]
        await self.send_json({"type": "presence", "viewers": viewers})
