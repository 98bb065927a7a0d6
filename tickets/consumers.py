"""Inbox websocket: staff receive a message when a ticket they may see changes."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tickets import live
from tickets.selectors import user_department_ids, user_role


class InboxConsumer(AsyncJsonWebsocketConsumer):
    groups: list[str] = []

    async def connect(self) -> None:
        user = self.scope.get("user")
        scope = await database_sync_to_async(self._groups_for)(user)
        if scope is None:
            await self.close(code=4403)
            return
        self.joined = scope
        for group in scope:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

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
        await self.send_json(
            {key: message[key] for key in ("ticket_id", "event_id", "kind", "state")}
        )
