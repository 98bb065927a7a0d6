"""Downloading one media file over HTTP(S), defensively (runs in the outbox worker only).

- Only ``http`` and ``https``; no user name or password in the URL; at most 3 redirects.
- A URL that came in a message (a 12345 attachment, a Weibo or WeChat CDN link, an Open311
  ``media_url``) is *guarded*: every address it resolves to, at every connection (redirects
  and DNS answers that change between look-up and connect included), must be a public one;
  private, loopback, link-local, multicast and reserved addresses are refused unless listed in
  ``MEDIA_DOWNLOAD["ALLOW_NETWORKS"]``. Environment proxies are ignored, so the check is made
  against the host we really connect to. Configured API bases (WeChat's, Weibo's) are trusted.
- A timeout per connect and per read, and a deadline for the whole download.
- The size cap of the file's kind is enforced on the bytes as they arrive, after any
  ``Content-Encoding`` is undone (so a gzip bomb stops at the cap); ``Content-Length`` only
  lets us refuse early, it is never relied on.
- The type is decided by the first bytes (``sniff``), an image is checked for a bomb.

Failures raise ``DeliveryError``: ``permanent`` when trying again cannot help (refused
address, wrong type, too large, 404), otherwise the worker retries with backoff.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from integrations.media.sniff import HEAD_BYTES, KIND_LABELS, MediaRefused, image_check, sniff
from integrations.outbound.base import DeliveryError

MAX_REDIRECTS = 3
READ_BYTES = 64 * 1024
JSON_MAX_BYTES = 64 * 1024
USER_AGENT = "Minsheng-media/1.0"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Answers that no retry can change.
PERMANENT_STATUSES = {400, 401, 403, 404, 405, 406, 410, 411, 414, 415, 451}


@dataclass(frozen=True)
class Limits:
    max_bytes: Mapping[str, int]
    max_pixels: int
    timeout: float
    total: float
    allow_networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls) -> Limits:
        conf: dict[str, Any] = getattr(settings, "MEDIA_DOWNLOAD", {})
        return cls(
            max_bytes=dict(conf.get("MAX_BYTES") or {}),
            max_pixels=int(conf.get("MAX_PIXELS") or 40_000_000),
            timeout=float(conf.get("TIMEOUT_SECONDS") or 10),
            total=float(conf.get("TOTAL_SECONDS") or 60),
            allow_networks=networks_parse(conf.get("ALLOW_NETWORKS") or ()),
        )

    def cap(self, kind: str) -> int:
        """The size cap of a kind; before the kind is known, the largest."""
        if kind in self.max_bytes:
            return int(self.max_bytes[kind])
        return max((int(value) for value in self.max_bytes.values()), default=20 * 1024 * 1024)


def networks_parse(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(str(value).strip(), strict=False) for value in values)


def address_allowed(address: str, allow: tuple[Network, ...] = ()) -> bool:
    """A public address, or one in an explicitly allowed network (pure)."""
    try:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip.version == network.version and ip in network for network in allow):
        return True
    return ip.is_global and not ip.is_multicast


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


@dataclass(frozen=True)
class ApiJson:
    """What an API answered instead of a file: its HTTP status and JSON object."""

    status: int
    data: dict[str, Any]


@dataclass
class Fetched:
    """A downloaded file (in a temporary file, at position 0), of a type we keep."""

    file: IO[bytes]
    size: int
    content_type: str
    kind: str
    filename: str = ""
    via: str = ""

    def close(self) -> None:
        self.file.close()


# --- the guarded connection --------------------------------------------------------------


@dataclass
class _Guard:
    allow: tuple[Network, ...]
    refused: list[str] = field(default_factory=list)


_current = threading.local()


def _connect(conn: HTTPConnection) -> socket.socket:
    """Connect to the first allowed address of the host; remember the refused ones."""
    guard: _Guard = _current.guard
    host = conn._dns_host  # type: ignore[attr-defined]
    infos = socket.getaddrinfo(host, conn.port, 0, socket.SOCK_STREAM)
    last: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        if not address_allowed(str(sockaddr[0]), guard.allow):
            guard.refused.append(str(sockaddr[0]))
            continue
        sock = socket.socket(family, kind, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.timeout is not None:
                sock.settimeout(conn.timeout)  # type: ignore[arg-type]
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"no allowed address for {host}")


class _GuardedMixin:
    def _new_conn(self) -> socket.socket:
        if getattr(_current, "guard", None) is None:
            return super()._new_conn()  # type: ignore[misc, no-any-return]
        return _connect(self)  # type: ignore[arg-type]


class _GuardedHTTPConnection(_GuardedMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


class _Session(requests.Session):
    """Headers we were given (a 12345 signature) never follow a redirect to another host."""

    sensitive: tuple[str, ...] = ()

    def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
        super().rebuild_auth(prepared_request, response)
        if self.should_strip_auth(response.request.url, prepared_request.url):
            for name in self.sensitive:
                prepared_request.headers.pop(name, None)


def _session(sensitive: Iterable[str] = ()) -> requests.Session:
    session = _Session()
    session.sensitive = tuple(sensitive)
    session.trust_env = False  # no environment proxies: we check the host we connect to
    session.max_redirects = MAX_REDIRECTS
    session.headers["User-Agent"] = USER_AGENT
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- the download ------------------------------------------------------------------------


def url_check(url: str) -> None:
    """Only http(s) URLs with a host and without credentials (permanent otherwise)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise DeliveryError(f"下载地址无效：{exc}", permanent=True) from exc
    if parts.scheme not in ("http", "https"):
        raise DeliveryError(
            f"只能下载 http(s) 地址，不能下载「{parts.scheme or '无协议'}」地址", permanent=True
        )
    if not parts.hostname:
        raise DeliveryError("下载地址缺少主机名", permanent=True)
    if parts.username or parts.password:
        raise DeliveryError("下载地址中不能包含用户名或密码", permanent=True)


def _status_error(status: int) -> DeliveryError:
    if status in PERMANENT_STATUSES:
        return DeliveryError(
            f"来源答复 HTTP {status}（文件不存在、已过期或无权获取）", permanent=True
        )
    return DeliveryError(f"来源答复 HTTP {status}", permanent=False)


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in (
        "application/json",
        "text/json",
        "text/plain",
    )


def _filename(disposition: str) -> str:
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", disposition or "", re.I)
    return match.group(1).strip()[:200] if match else ""


def http_fetch(
    url: str,
    *,
    limits: Limits,
    expect: str = "",
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    guarded: bool = True,
) -> Fetched:
    """Download ``url``: a file of a type we keep. ``expect`` is the kind the channel
    announced ("" if none); ``guarded=False`` only for a configured API base."""
    answer = _fetch(url, limits, expect, params, headers, guarded, json_answers=False)
    if not isinstance(answer, Fetched):  # pragma: no cover - only with json_answers
        raise DeliveryError("来源答复了文本，没有文件", permanent=True)
    return answer


def api_fetch(
    url: str,
    *,
    limits: Limits,
    expect: str = "",
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    guarded: bool = False,
) -> Fetched | ApiJson:
    """``http_fetch`` for an API that answers either the file or a JSON object (an error, a
    further URL), whatever the HTTP status: the JSON is returned for the caller to read."""
    return _fetch(url, limits, expect, params, headers, guarded, json_answers=True)


def _fetch(
    url: str,
    limits: Limits,
    expect: str,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    guarded: bool,
    *,
    json_answers: bool,
) -> Fetched | ApiJson:
    url_check(url)
    guard = _Guard(allow=limits.allow_networks) if guarded else None
    _current.guard = guard
    try:
        with _session(sensitive=headers or ()) as session:
            return _download(session, url, limits, expect, params, headers, json_answers)
    except requests.TooManyRedirects as exc:
        raise DeliveryError(f"重定向超过 {MAX_REDIRECTS} 次", permanent=True) from exc
    except requests.exceptions.InvalidSchema as exc:
        raise DeliveryError("重定向到了非 http(s) 地址", permanent=True) from exc
    except (requests.Timeout, TimeoutError, urllib3.exceptions.TimeoutError) as exc:
        raise DeliveryError(f"下载超时（{type(exc).__name__}）") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if guard is not None and guard.refused:
            refused = "、".join(sorted(set(guard.refused))[:3])
            raise DeliveryError(
                f"下载地址指向内网、本机或保留地址（{refused}），已拒绝", permanent=True
            ) from exc
        # Never the exception text: its URL may carry an access token.
        raise DeliveryError(f"网络错误（{type(exc).__name__}）") from exc
    finally:
        _current.guard = None


def _download(
    session: requests.Session,
    url: str,
    limits: Limits,
    expect: str,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    json_answers: bool,
) -> Fetched | ApiJson:
    deadline = time.monotonic() + limits.total
    timeout = (limits.timeout, limits.timeout)
    with session.get(
        url, params=params, headers=headers, stream=True, timeout=timeout, allow_redirects=True
    ) as response:
        content_type = response.headers.get("Content-Type", "")
        if json_answers and _is_json(content_type):
            return ApiJson(status=response.status_code, data=_json_body(response, deadline))
        if response.status_code >= 400:
            raise _status_error(response.status_code)
        if response.status_code != 200:
            raise DeliveryError(f"来源答复 HTTP {response.status_code}，没有文件", permanent=True)
        cap = limits.cap(expect)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(expect, cap, f"声明大小 {megabytes(int(declared))}")
        out = tempfile.TemporaryFile()  # handed to the caller in Fetched, who closes it
        try:
            size, kind, stored_type = _stream(response, out, limits, expect, deadline)
            if kind == "image":
                image_check(out, content_type=stored_type, max_pixels=limits.max_pixels)
        except MediaRefused as exc:
            out.close()
            raise DeliveryError(str(exc), permanent=True) from exc
        except BaseException:
            out.close()
            raise
        out.seek(0)
        filename = _filename(response.headers.get("Content-Disposition", ""))
        return Fetched(file=out, size=size, content_type=stored_type, kind=kind, filename=filename)


def _too_large(kind: str, cap: int, seen: str) -> DeliveryError:
    label = KIND_LABELS.get(kind, "文件")
    return DeliveryError(f"{label}超过 {megabytes(cap)} 上限（{seen}），已拒绝", permanent=True)


def _stream(
    response: requests.Response, out: IO[bytes], limits: Limits, expect: str, deadline: float
) -> tuple[int, str, str]:
    """Copy the (decoded) body to ``out`` within the cap and the deadline; sniff its head."""
    raw = response.raw
    head, size, kind, stored_type = b"", 0, expect, ""
    cap = limits.cap(expect)
    while True:
        if time.monotonic() > deadline:
            raise DeliveryError(f"下载超时（超过 {limits.total:g} 秒未完成）")
        chunk = raw.read1(READ_BYTES, decode_content=True)
        if not chunk:
            break
        size += len(chunk)
        if size > cap:
            raise _too_large(kind, cap, f"已读到 {megabytes(size)} 仍未结束")
        out.write(chunk)
        if not stored_type:
            head += chunk[: HEAD_BYTES - len(head)]
            if len(head) >= HEAD_BYTES:
                sniffed = sniff(head, expect=expect)
                kind, stored_type, cap = (
                    sniffed.kind,
                    sniffed.content_type,
                    limits.cap(sniffed.kind),
                )
                if size > cap:
                    raise _too_large(kind, cap, f"已读到 {megabytes(size)}")
    if not stored_type:
        sniffed = sniff(head, expect=expect)
        kind, stored_type = sniffed.kind, sniffed.content_type
        if size > limits.cap(kind):
            raise _too_large(kind, limits.cap(kind), megabytes(size))
    return size, kind, stored_type


def _json_body(response: requests.Response, deadline: float) -> dict[str, Any]:
    body = b""
    while len(body) <= JSON_MAX_BYTES:
        if time.monotonic() > deadline:
            raise DeliveryError("下载超时（接口答复未完成）")
        chunk = response.raw.read1(READ_BYTES, decode_content=True)
        if not chunk:
            break
        body += chunk
    if len(body) > JSON_MAX_BYTES:
        raise DeliveryError("接口答复的文本过长，不是文件", permanent=True)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DeliveryError(f"接口答复无法识别：{body[:80]!r}", permanent=False) from exc
    if not isinstance(data, dict):
        raise DeliveryError("接口答复无法识别（不是 JSON 对象）", permanent=False)
    return data
