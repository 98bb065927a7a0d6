"""Request bodies over MAX_REQUEST_BYTES are refused while they stream (config/bodylimit.py),
so a chunked upload without a Content-Length never lands on disk (issue 13 review)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from config.bodylimit import BodyLimit

pytestmark = pytest.mark.django_db(transaction=True)
LIMIT = 64 * 1024


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/track/",
        "raw_path": b"/track/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


async def _status(scope: dict[str, Any], chunks: list[bytes]) -> int:
    app = ApplicationCommunicator(BodyLimit(get_asgi_application(), LIMIT), scope)
    for index, chunk in enumerate(chunks):
        await app.send_input(
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        )
    start = await app.receive_output(timeout=10)
    assert start["type"] == "http.response.start"
    await app.wait(timeout=10)
    return int(start["status"])


def test_a_declared_length_over_the_limit_is_refused_at_once() -> None:
    scope = _scope([(b"content-length", str(LIMIT + 1).encode())])
    assert async_to_sync(_status)(scope, [b""]) == 413


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit() -> None:
    scope = _scope([(b"transfer-encoding", b"chunked")])
    assert async_to_sync(_status)(scope, [b"x" * 16 * 1024] * 8) == 413


def test_a_body_within_the_limit_reaches_the_view() -> None:
    scope = _scope([(b"content-type", b"application/x-www-form-urlencoded")])
    assert async_to_sync(_status)(scope, [b"case_no=1&query_code=2"]) in (400, 403, 404)
