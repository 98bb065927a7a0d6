"""The local spool: where a channel message waits while the database cannot take it.

A WeChat, Weibo or 12345 push that arrives while PostgreSQL is away (the account cannot be
looked up, or the journal row cannot be written) is written here as one file — the request as
it came, and whether its signature was already checked — and the channel is answered at once
(WeChat and Weibo: "received"; 12345: 503, so the platform also retries). Nothing that arrived
is lost to an outage of the database.

The spool is drained by running the very same endpoint view on the stored request (the
channel's ``ChannelSpec.spool_view``, with the request headers its ``spool_headers`` names
kept; ``spool_drain``): signature and freshness are checked against the moment it arrived, the
replay check is not run twice, and the journal's dedupe key makes the message a ticket exactly
once even when the channel's own retry got through first. A draining thread is started in the
process that spooled (it keeps trying until the database is back), at process start when files
are waiting, and by the ``inbound-recover`` job; ``manage.py inbound_recover`` runs one pass.

Files are written atomically (temporary file, fsync, rename) under ``INBOUND_SPOOL_DIR``; a
file that cannot be replayed for any other reason than the outage moves to ``failed/`` with
the reason beside it, for an administrator.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.http import HttpRequest, HttpResponse, QueryDict

from integrations.registry import channel_spec_or_none

logger = logging.getLogger(__name__)

# What a database outage looks like to Django (connection refused or lost, server shutting down).
OUTAGE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
# Headers every replay keeps (for the journal), besides those the channel's spec names.
KEPT_HEADERS = ("REMOTE_ADDR", "HTTP_USER_AGENT")
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_UNVERIFIED_MAX_BYTES = 16 * 1024 * 1024

View = Callable[[HttpRequest, str], HttpResponse]


class SpoolFull(Exception):
    """The spool holds ``INBOUND_SPOOL_MAX_BYTES`` already: the channel is told to retry."""


class StillDown(Exception):
    """Raised by a view replaying a spooled request when the database is still away."""


# What stops a drain pass: the rest of the spool waits for the next one.
RETRY_LATER: tuple[type[Exception], ...] = (StillDown, *OUTAGE)


@dataclass
class SpooledRequest:
    channel: str
    slug: str
    method: str
    path: str
    query: str
    content_type: str
    body: bytes
    received_at: float
    verified: bool
    meta: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> str:
        data = asdict(self)
        data["body"] = base64.b64encode(self.body).decode("ascii")
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SpooledRequest:
        data = json.loads(text)
        data["body"] = base64.b64decode(data["body"])
        return cls(**data)


def _view(channel: str) -> View:
    """The view that replays the channel's spooled requests (its ``ChannelSpec.spool_view``)."""
    spec = channel_spec_or_none(channel)
    if spec is None or spec.spool_view is None:
        raise KeyError(f"渠道 {channel} 没有重放暂存请求的视图")
    return spec.spool_view


def _kept_headers(channel: str) -> tuple[str, ...]:
    spec = channel_spec_or_none(channel)
    return (*(spec.spool_headers if spec is not None else ()), *KEPT_HEADERS)


def spool_dir() -> Path:
    return Path(getattr(settings, "INBOUND_SPOOL_DIR", settings.VAR_DIR / "spool"))


# What the spool holds, measured at most every few seconds (a flood of writes must not stat
# every file each time), plus what this process wrote since.
_usage_lock = threading.Lock()
_usage: dict[str, float] = {"at": 0.0, "all": 0, "unverified": 0}
USAGE_FRESH_SECONDS = 5.0


def _bytes_used(folder: Path) -> tuple[int, int]:
    """(all bytes, bytes of unverified pushes) in the spool, set-aside files included."""
    with _usage_lock:
        if time.monotonic() - _usage["at"] > USAGE_FRESH_SECONDS:
            total = unverified = 0
            for base in (folder, folder / "failed"):
                if not base.is_dir():
                    continue
                for entry in os.scandir(base):
                    if entry.is_file():
                        size = entry.stat().st_size
                        total += size
                        unverified += size if "-u-" in entry.name else 0
            _usage.update(at=time.monotonic(), all=total, unverified=unverified)
        return int(_usage["all"]), int(_usage["unverified"])


def _count_write(size: int, *, verified: bool) -> None:
    with _usage_lock:
        _usage["all"] += size
        if not verified:
            _usage["unverified"] += size


def spool_write(request: HttpRequest, *, channel: str, slug: str, verified: bool) -> Path:
    """Keep the request on local disk (durably) and make sure a drainer will replay it.

    ``verified``: its signature was checked. An unchecked push (its account could not be read)
    may only use ``INBOUND_SPOOL_UNVERIFIED_MAX_BYTES``, so strangers cannot fill the spool."""
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    limit = int(getattr(settings, "INBOUND_SPOOL_MAX_BYTES", DEFAULT_MAX_BYTES))
    unverified_limit = int(
        getattr(settings, "INBOUND_SPOOL_UNVERIFIED_MAX_BYTES", DEFAULT_UNVERIFIED_MAX_BYTES)
    )
    used, used_unverified = _bytes_used(folder)
    if used >= limit or (not verified and used_unverified >= unverified_limit):
        raise SpoolFull(str(folder))
    item = SpooledRequest(
        channel=channel,
        slug=slug,
        method=request.method or "POST",
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        content_type=request.META.get("CONTENT_TYPE", ""),
        body=request.body,
        received_at=request_time(request),
        verified=verified,
        meta={
            key: str(request.META[key])[:1000]
            for key in _kept_headers(channel)
            if key in request.META
        },
    )
    name = (
        f"{time.time_ns():020d}-{channel}-{'v' if verified else 'u'}-{uuid.uuid4().hex[:12]}.json"
    )
    temporary = folder / f".{name}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(item.as_json())
        handle.flush()
        os.fsync(handle.fileno())
    final = folder / name
    os.replace(temporary, final)
    _count_write(final.stat().st_size, verified=verified)
    with contextlib.suppress(OSError):  # the rename itself durable too
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    logger.warning(
        "%s push for %s spooled while the database is unavailable (%s)",
        channel,
        slug,
        "signature checked" if verified else "signature not checked yet",
    )
    drainer_start()
    return final


def spooled(request: HttpRequest) -> SpooledRequest | None:
    """The stored request when ``request`` is a replay from the spool, else None."""
    return getattr(request, "minsheng_spooled", None)


def request_time(request: HttpRequest) -> float:
    """When the request reached us: now, or the moment a spooled request first arrived."""
    item = spooled(request)
    return item.received_at if item is not None else time.time()


def arrived_at(request: HttpRequest) -> dt.datetime | None:
    """For the journal: the moment a spooled request first arrived (None for a live one, which
    arrived now). Its deadlines count from then, not from the replay."""
    item = spooled(request)
    return dt.datetime.fromtimestamp(item.received_at, tz=dt.UTC) if item is not None else None


def _as_request(item: SpooledRequest) -> HttpRequest:
    request = HttpRequest()
    request.method = item.method
    request.path = request.path_info = item.path
    request.META = {
        "REQUEST_METHOD": item.method,
        "QUERY_STRING": item.query,
        "CONTENT_TYPE": item.content_type,
        "CONTENT_LENGTH": str(len(item.body)),
        "SERVER_NAME": "spool",
        "SERVER_PORT": "0",
        **item.meta,
    }
    request.GET = QueryDict(item.query)
    request._body = item.body  # type: ignore[attr-defined]
    request._set_content_type_params(request.META)  # type: ignore[attr-defined]
    request.minsheng_spooled = item  # type: ignore[attr-defined]
    return request


@dataclass
class DrainResult:
    replayed: int = 0
    failed: int = 0
    waiting: int = 0

    def summary(self) -> str:
        return f"spool: {self.replayed} replayed, {self.failed} failed, {self.waiting} waiting"


@contextlib.contextmanager
def _claimed(path: Path) -> Iterator[Any]:
    """The open file, locked against the other processes draining the same spool (None when
    another one holds it or has replayed it already)."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        yield None
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        yield None
        return
    try:
        yield handle
    finally:
        handle.close()


def _set_aside(path: Path, reason: str) -> None:
    failed = path.parent / "failed"
    failed.mkdir(exist_ok=True)
    os.replace(path, failed / path.name)
    (failed / f"{path.name}.reason.txt").write_text(reason, encoding="utf-8")


def spool_drain() -> DrainResult:
    """Replay every spooled request, oldest first; stop at the first sign the database is
    still away (the rest waits for the next pass)."""
    result = DrainResult()
    folder = spool_dir()
    if not folder.is_dir():
        return result
    paths = sorted(folder.glob("*.json"))
    for index, path in enumerate(paths):
        with _claimed(path) as handle:
            if handle is None or not path.exists():
                continue  # another process is replaying it, or has just done so
            try:
                item = SpooledRequest.from_json(handle.read())
                view = _view(item.channel)
            except (ValueError, KeyError, TypeError) as exc:
                _set_aside(path, f"无法读取：{type(exc).__name__}: {exc}")
                result.failed += 1
                continue
            try:
                response = view(_as_request(item), item.slug)
            except RETRY_LATER:
                result.waiting = len(paths) - index
                close_old_connections()
                return result
            except Exception as exc:
                logger.exception("spooled %s push could not be replayed", item.channel)
                _set_aside(path, f"{type(exc).__name__}: {exc}")
                result.failed += 1
                continue
            if response.status_code >= 300:
                # Refused on replay (unknown account, bad signature, stale): never deleted.
                text = response.content.decode("utf-8", errors="replace")[:2000]
                _set_aside(path, f"HTTP {response.status_code}: {text}")
                result.failed += 1
                continue
            path.unlink()
            result.replayed += 1
    return result


def spool_waiting() -> int:
    folder = spool_dir()
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


_drainer_lock = threading.Lock()
_drainer: threading.Thread | None = None


def drainer_start() -> threading.Thread | None:
    """Start this process's draining thread unless one runs: it replays the spool, waiting
    longer between tries while the database stays away, and ends when the spool is empty.
    (``INBOUND_SPOOL_AUTODRAIN = False`` leaves draining to the job: the test suite.)"""
    global _drainer
    if not getattr(settings, "INBOUND_SPOOL_AUTODRAIN", True):
        return None
    with _drainer_lock:
        if _drainer is not None and _drainer.is_alive():
            return None
        _drainer = threading.Thread(target=_drain_until_empty, name="minsheng-spool", daemon=True)
        _drainer.start()
        return _drainer


def _drain_until_empty() -> None:
    pause = 1.0
    while True:
        time.sleep(pause)
        try:
            result = spool_drain()
        except Exception:
            logger.exception("spool drain failed")
            result = DrainResult(waiting=1)
        finally:
            close_old_connections()
        if result.replayed or result.failed:
            logger.info(result.summary())
        if not result.waiting and not spool_waiting():
            return
        pause = 1.0 if result.replayed else min(pause * 2, 30.0)
