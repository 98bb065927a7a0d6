"""Sliding windows per client address: cases filed (``settings.WEBSITE_RATE_LIMIT``, default
"10/hour") and failed look-ups at /track/ (``settings.TRACK_RATE_LIMIT``, default "20/hour").

Kept in the Django cache (Redis in production, so every worker shares it). Only what counts
is recorded: a form sent back for correction costs nothing, a successful look-up costs
nothing. With Redis away each window is kept per process (``config.cache.fallback_cache``):
fail open, a citizen is never refused for our outage (docs/resilience.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from config.cache import fallback_cache as cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_RATE = "10/hour"


def parse_rate(rate: str | None, default: str = DEFAULT_RATE) -> tuple[int, int]:
    """'10/hour' -> (10, 3600); anything unreadable falls back to the default."""
    try:
        count, period = (rate or default).split("/")
        return int(count), PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        return parse_rate(default)


def client_address(request: HttpRequest) -> str:
    """The client's address, trusting X-Forwarded-For only as deep as ``NUM_PROXIES`` (the
    same rule as the JSON endpoint's throttle)."""
    return str(BaseThrottle().get_ident(request))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Window:
    """One kind of thing counted per client address."""

    name: str
    setting: str
    default: str

    def limit(self) -> tuple[int, int]:
        """(count, seconds) from the setting."""
        return parse_rate(getattr(settings, self.setting, self.default), self.default)

    def _key(self, address: str) -> str:
        return f"{self.name}:{address}"

    def _recent(self, address: str, now: float, window: int) -> list[float]:
        history = cache.get(self._key(address)) or []
        return [stamp for stamp in history if stamp > now - window]

    def exceeded(self, request: HttpRequest) -> bool:
        limit, window = self.limit()
        return len(self._recent(client_address(request), time.time(), window)) >= limit

    def record(self, request: HttpRequest) -> None:
        _limit, window = self.limit()
        address, now = client_address(request), time.time()
        cache.set(self._key(address), [*self._recent(address, now, window), now], timeout=window)


FILED = Window("website-filed", "WEBSITE_RATE_LIMIT", DEFAULT_RATE)
TRACK_FAILED = Window("track-failed", "TRACK_RATE_LIMIT", "20/hour")


def rate_limit() -> tuple[int, int]:
    """(cases, seconds) from ``settings.WEBSITE_RATE_LIMIT``."""
    return FILED.limit()


def rate_exceeded(request: HttpRequest) -> bool:
    return FILED.exceeded(request)


def rate_record(request: HttpRequest) -> None:
    FILED.record(request)
