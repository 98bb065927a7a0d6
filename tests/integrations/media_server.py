"""A real HTTP server on 127.0.0.1 for the media-download tests: it serves the small real
files of tests/fixtures/media/, oversize and endless bodies, wrong types, gzip bombs,
redirects, JSON answers and slow answers, and records every request it gets."""

from __future__ import annotations

import gzip
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

MEDIA = Path(__file__).resolve().parent.parent / "fixtures" / "media"


def fixture_bytes(name: str) -> bytes:
    return (MEDIA / name).read_bytes()


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Answer:
    """How to answer one path. ``body`` may be bytes or a callable writing to the socket."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True  # send Content-Length (else the body ends when the connection closes)
    delay: float = 0.0  # seconds before the status line
    stream: Callable[[Any], None] | None = None  # writes the body itself
    then: list[Answer] = field(default_factory=list)  # answers for the next calls


class MediaServer:
    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.seen: list[Seen] = []
        self.sent_bytes: dict[str, int] = {}
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, answer: Answer) -> str:
        self.answers[path] = answer
        return self.url(path)

    def file(self, path: str, name: str, content_type: str, **extra: Any) -> str:
        return self.serve(
            path, Answer(body=fixture_bytes(name), content_type=content_type, **extra)
        )

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def answer_for(self, path: str) -> Answer | None:
        answer = self.answers.get(path)
        if answer is not None and answer.then:
            self.answers[path] = answer.then.pop(0)
            self.answers[path].then = answer.then
        return answer


def endless(first: bytes, *, chunk: int = 64 * 1024, limit: int = 200 * 1024 * 1024) -> Any:
    """A body that never ends by itself (until ``limit``): it stops when the client hangs up."""

    def write(handler: Any) -> None:
        handler.server.media.sent_bytes[handler.path] = 0
        handler.wfile.write(first)
        sent = len(first)
        block = b"\0" * chunk
        while sent < limit:
            handler.wfile.write(block)
            sent += chunk
            handler.server.media.sent_bytes[handler.path] = sent

    return write


def dribble(first: bytes, *, every: float = 0.1, limit: int = 600) -> Any:
    """A body that arrives one byte at a time, never slower than ``every`` seconds per byte."""

    def write(handler: Any) -> None:
        handler.wfile.write(first)
        handler.wfile.flush()
        for _ in range(limit):
            time.sleep(every)
            handler.wfile.write(b"\0")
            handler.wfile.flush()

    return write


def gzip_bomb(first: bytes, inflated: int) -> bytes:
    """``first`` followed by zeros up to ``inflated`` bytes, gzip-compressed (about 1:1000)."""
    return gzip.compress(first + b"\0" * (inflated - len(first)), compresslevel=9)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up (on purpose, in the tests that refuse a body)

    def do_GET(self) -> None:
        media: MediaServer = self.server.media  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        media.seen.append(Seen(parts.path, parse_qs(parts.query), dict(self.headers.items())))
        answer = media.answer_for(parts.path)
        if answer is None:
            answer = Answer(status=404, body=b"not found", content_type="text/plain")
        if answer.delay:
            time.sleep(answer.delay)
        self.path = parts.path
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.stream is None and answer.length:
                self.send_header("Content-Length", str(len(answer.body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if answer.stream is not None:
                answer.stream(self)
            else:
                self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    media = MediaServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.media = media  # type: ignore[attr-defined]
    media.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield media
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def media_settings(settings: Any, tmp_path: Path) -> Any:
    """Small caps, short timeouts, a throw-away private storage, and 127.0.0.1 allowed (the
    test server's address; every other loopback or private address stays refused)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private-media")},
        },
    }
    settings.MEDIA_DOWNLOAD = {
        "MAX_BYTES": {"image": 100_000, "voice": 20_000, "video": 50_000, "document": 100_000},
        "MAX_PIXELS": 4_000_000,
        "TIMEOUT_SECONDS": 1,
        "TOTAL_SECONDS": 2,
        "ALLOW_NETWORKS": ["127.0.0.1/32"],
    }
    return settings
