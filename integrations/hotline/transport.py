"""Sending 12345 callbacks: ``POST <callback_base>/callbacks``, signed like the platform's pushes.

Runs in background work only (the outbox job), never in a web request or inside a database
transaction: a row is claimed in a short transaction (leased by pushing ``next_attempt_at``
forward), sent outside it, and its outcome written in another. A callback the platform does
not answer 2xx is retried with backoff (30 s, 1, 2, 4 … minutes, at most an hour apart); after
``MAX_ATTEMPTS`` it is marked failed, which administrators see in the outbox.

Attachments of a work order (``{name, url}``; URLs may expire) are downloaded by the
media-download job (``integrations.media``) with ``media_fetch``: a guarded GET, signed like a
callback when the file is on the platform's own host (the callback base's).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from integrations.hotline import signing
from integrations.hotline.callbacks import KIND
from integrations.media.fetch import Fetched, Limits, http_fetch
from integrations.media.sniff import kind_of_hint
from integrations.models import ChannelAccount, OutboxMessage
from integrations.outbound.base import DeliveryError

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 12
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=1)
# Longer than a send can take: a worker that dies mid-send leaves the row to another later.
LEASE = dt.timedelta(seconds=60)
MAX_PER_RUN = 100
VIA = "hotline"


def callback_url(base: str) -> str:
    return base.rstrip("/") + "/callbacks"


def retry_delay(attempts: int) -> dt.timedelta:
    """After the n-th failed attempt: 30 s, 1 min, 2 min, 4 min, … never more than an hour."""
    delay = FIRST_DELAY * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_DELAY)


def send_callback(message: OutboxMessage) -> str:
    """Make the signed POST; returns how it was sent. Raises ``DeliveryError``: permanent when
    the account cannot send at all, otherwise (non-2xx, network) to be retried later."""
    account = message.account
    if account is None:
        raise DeliveryError("12345 账号不存在", permanent=True)
    base, secret = str(account.config.get("callback_base") or ""), account.secret("secret")
    if not base.startswith(("http://", "https://")) or not secret:
        raise DeliveryError("12345 账号未配置回调地址或密钥", permanent=True)
    body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": message.idempotency_key,
        **signing.signed_headers(secret, body, now=time.time()),
    }
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        callback_url(base), data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}: {exc.read(200).decode('utf-8', 'replace')}")
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"网络错误：{exc}")
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    return VIA


def _claim(now: dt.datetime) -> OutboxMessage | None:
    """Take the next due callback, oldest first, one per ticket in order (a callback waits
    while an earlier one for the same ticket is still pending)."""
    earlier = OutboxMessage.objects.filter(
        kind=KIND,
        status=OutboxMessage.Status.PENDING,
        ticket_id=OuterRef("ticket_id"),
        id__lt=OuterRef("id"),
    )
    due = (
        OutboxMessage.objects.filter(
            kind=KIND, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(~Exists(earlier))
        .order_by("next_attempt_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    for _ in range(5):
        with transaction.atomic():
            row = due.select_related("account").first()
            if row is None:
                return None
            # The conditional update is the claim where row locks do not exist (SQLite).
            claimed = OutboxMessage.objects.filter(
                pk=row.pk,
                status=OutboxMessage.Status.PENDING,
                next_attempt_at=row.next_attempt_at,
            ).update(next_attempt_at=max(now, timezone.now()) + LEASE)
        if claimed:
            return row
    return None


def _record(row: OutboxMessage, *, via: str = "", error: DeliveryError | None = None) -> None:
    attempts = row.attempts + 1
    at = timezone.now()
    pending = OutboxMessage.objects.filter(pk=row.pk, status=OutboxMessage.Status.PENDING)
    if error is None:
        pending.update(
            status=OutboxMessage.Status.SENT, sent_at=at, via=via, attempts=attempts, last_error=""
        )
        return
    logger.warning("hotline callback %s attempt %s failed: %s", row.pk, attempts, error)
    if error.permanent:
        status = OutboxMessage.Status.UNDELIVERABLE
    elif attempts >= MAX_ATTEMPTS:
        status = OutboxMessage.Status.FAILED
    else:
        status = OutboxMessage.Status.PENDING
    pending.update(
        status=status,
        attempts=attempts,
        last_error=str(error)[:2000],
        next_attempt_at=at + retry_delay(attempts) if status == "pending" else None,
    )


def process_hotline_callbacks(now: dt.datetime | None = None) -> int:
    """Send the due 12345 callbacks, one row per transaction; returns how many were tried."""
    tried = 0
    started = now or timezone.now()
    while tried < MAX_PER_RUN:
        row = _claim(started)
        if row is None:
            break
        tried += 1
        try:
            via = send_callback(row)
        except DeliveryError as exc:
            _record(row, error=exc)
        except Exception as exc:  # one bad row must not stop the others
            logger.exception("hotline callback %s crashed", row.pk)
            _record(row, error=DeliveryError(f"{type(exc).__name__}: {exc}"))
        else:
            _record(row, via=via)
    return tried


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return ("", "", None)
    return (parts.scheme, (parts.hostname or "").lower(), port)


def media_fetch(account: Any, attachment: Any, limits: Limits) -> Fetched:
    """A work order's attachment from its URL (guarded: a platform on a private network
    needs ``MEDIA_DOWNLOAD["ALLOW_NETWORKS"]``), signed when it is on the platform's host."""
    url = str(attachment.source_url or "")
    if not url:
        raise DeliveryError("12345 附件没有下载地址", permanent=True)
    headers: dict[str, str] = {}
    if isinstance(account, ChannelAccount):
        base, secret = str(account.config.get("callback_base") or ""), account.secret("secret")
        if base and secret and _origin(base) == _origin(url):
            headers = signing.signed_headers(secret, b"", now=time.time())
    fetched = http_fetch(
        url, limits=limits, expect=kind_of_hint(attachment.content_type), headers=headers
    )
    fetched.via = "hotline:signed" if headers else "hotline:url"
    return fetched
