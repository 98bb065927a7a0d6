"""An ASGI wrapper that refuses a request body over ``MAX_REQUEST_BYTES`` while it streams.

Django's ASGI handler reads the whole body (to memory, then to a temporary file) before any
view runs, and the views' own size checks read ``Content-Length``, which a chunked body does
not carry: a 300 MB chunked POST would land on disk first. Here a declared length over the
limit is answered 413 at once, and an undeclared one is cut off as soon as it passes the limit
(the application sees a disconnect and answers nothing; this wrapper answers 413)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = Any
Message = Any
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
App = Callable[..., Awaitable[None]]

TOO_LARGE = "请求内容过大。".encode()


class BodyLimit:
    def __init__(self, app: App, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = self._declared(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        seen, cut, started = 0, False, False

        async def limited() -> Message:
            nonlocal seen, cut
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    cut = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited, watched)
        if cut and not started:
            await self._refuse(send)

    @staticmethod
    def _declared(scope: Scope) -> int | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    @staticmethod
    async def _refuse(send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": TOO_LARGE})
