"""Live dashboard: when tickets move, re-send the viewer's figures (debounced).

The consumer joins the inbox groups that ``tickets.live`` already sends ``ticket.changed`` to
(the whole city for citywide viewers, their departments otherwise). Changes arriving within
``debounce_seconds`` are folded into one recomputation, so a burst of changes costs one set of
queries per open dashboard, not one per change.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.template.loader import render_to_string
from django.utils import timezone

from dashboards.access import NoAccess, viewer_for, viewer_scope
from dashboards.dashboard import dashboard_build, params_parse
from tickets import live


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    debounce_seconds: float = 2.0

    async def connect(self) -> None:
        user = self.scope.get("user")
        query = dict(parse_qsl(self.scope.get("query_string", b"").decode()))
        self.params = params_parse(query, now=timezone.now())
        try:
            self.viewer = await database_sync_to_async(viewer_for)(user)
            # A department the viewer may not see is refused here as on the page.
            scope = await database_sync_to_async(viewer_scope)(
                self.viewer, self.params.department_id
            )
        except NoAccess:
            await self.close(code=4403)
            return
        if scope is None:
            self.joined = [live.INBOX_GROUP]
        else:
            self.joined = [live.department_group(pk) for pk in sorted(scope)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.pending: asyncio.Task[None] | None = None
        self.dirty = False
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        pending = getattr(self, "pending", None)
        if pending is not None:
            pending.cancel()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.send_json(await database_sync_to_async(self._figures)())

    async def ticket_changed(self, message: dict[str, Any]) -> None:
        self.dirty = True
        if self.pending is None or self.pending.done():
            self.pending = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        # A change that arrives while figures are being computed gets one more round.
        while self.dirty:
            await asyncio.sleep(self.debounce_seconds)
            self.dirty = False
            payload = await database_sync_to_async(self._figures)()
            await self.send_json(payload)

    def _figures(self) -> dict[str, Any]:
        now = timezone.now()
        data = dashboard_build(params=self.params, viewer=self.viewer, now=now)
        return {
            "type": "figures",
            "as_of": data["as_of"].isoformat(),
            "summary": data["live_summary"],
            "html": render_to_string("dashboards/_figures.html", data),
        }
