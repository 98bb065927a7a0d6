"""One-time signed parameters (WeChat, Weibo, 12345): the replay check, and what happens to it
while Redis is away.

WeChat and Weibo sign only the query (timestamp + nonce), not the body, so a captured query
must never carry a second, different body; 12345 signs the body and refuses any nonce seen in
the last 10 minutes. The check stores ``key → sha256(body)`` in the shared cache:

- ``fresh``: first use; ``retry``: the same key with the same body (WeChat resends the identical
  request when an answer was late: it is let through, and the journal's dedupe on MsgId makes
  it one ticket); ``replay``: the same key with another body (refused);
- ``unchecked``: the cache cannot be reached. The message is let through (fail open: a citizen's
  message is never refused for our outage) and a ``ReplayCheck`` row is written beside its
  journal row; ``replay_checks_run`` (the ``inbound-recover`` job) makes the check once the
  cache is back, and marks the journal row and the ticket when it finds a replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Literal

from django.core.cache import cache
from django.utils import timezone

from integrations.models import InboundMessage, ReplayCheck
from tickets.services.events import event_append

logger = logging.getLogger(__name__)

Verdict = Literal["fresh", "retry", "replay", "unchecked"]
REPLAY_REASON = "疑似重放：同一组签名参数（timestamp、nonce）已携带过不同的消息内容。"


@dataclass(frozen=True)
class Claim:
    verdict: Verdict
    key: str
    digest: str
    ttl: int


def body_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def nonce_claim(key: str, raw: bytes, *, ttl: int) -> Claim:
    """Use the one-time key for this body (see the module docstring for the verdicts)."""
    digest = body_digest(raw)
    try:
        if cache.add(key, digest, timeout=ttl):
            return Claim("fresh", key, digest, ttl)
        stored = cache.get(key)
    except Exception:
        logger.warning("replay check for %s postponed: the cache is unavailable", key[:80])
        return Claim("unchecked", key, digest, ttl)
    if stored is None:  # expired between the two calls
        return Claim("fresh", key, digest, ttl)
    return Claim("retry" if stored == digest else "replay", key, digest, ttl)


def replay_check_later(claim: Claim, inbound: InboundMessage | None) -> None:
    """Remember an ``unchecked`` claim so it is checked once the cache is back."""
    if claim.verdict != "unchecked":
        return
    now = timezone.now()
    ReplayCheck.objects.create(
        key=claim.key[:200],
        digest=claim.digest,
        inbound=inbound,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=claim.ttl),
    )


@dataclass
class RecheckResult:
    checked: int = 0
    replays: int = 0
    postponed: int = 0

    def summary(self) -> str:
        return (
            f"replay checks: {self.checked} made, {self.replays} replays, {self.postponed} waiting"
        )


def replay_checks_run(*, limit: int = 1000) -> RecheckResult:
    """Make the replay checks postponed while the cache was away, oldest first."""
    result = RecheckResult()
    now = timezone.now()
    for check in ReplayCheck.objects.select_related("inbound__ticket").order_by("id")[:limit]:
        ttl = max(int((check.expires_at - now).total_seconds()), 1)
        try:
            added = cache.add(check.key, check.digest, timeout=ttl)
            stored = None if added else cache.get(check.key)
        except Exception:
            result.postponed = ReplayCheck.objects.count()
            return result
        replayed = not added and stored is not None and stored != check.digest
        if replayed and check.inbound is not None:
            inbound = check.inbound
            logger.error("inbound %s:%s was a replay", inbound.channel, inbound.pk)
            InboundMessage.objects.filter(pk=inbound.pk).update(
                reason=f"{REPLAY_REASON} {inbound.reason}".strip()[:2000],
                headers={**inbound.headers, "replay_check": "replay"},
            )
            if inbound.ticket is not None:
                event_append(
                    ticket=inbound.ticket,
                    kind="replay_suspected",
                    payload={"inbound_id": inbound.pk, "reason": REPLAY_REASON},
                )
            result.replays += 1
        check.delete()
        result.checked += 1
    return result
