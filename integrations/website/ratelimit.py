"""Cases filed per client address (``settings.WEBSITE_RATE_LIMIT``, default "10/hour").

A sliding window kept in the Django cache (Redis in production, so every worker shares it).
Only cases actually filed count: a form sent back for correction costs nothing. With Redis
away the window is kept per process (``config.cache.fallback_cache``): fail open, a citizen is
never refused for our outage (docs/resilience.md)."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from config.cache import fallback_cache as cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_RATE = "10/hour"


def parse_rate(rate: str | None) -> tuple[int, int]:
    """'10/hour' -> (10, 3600); anything unreadable falls back to the default."""
    try:
        count, period = (rate or DEFAULT_RATE).split("/")
        return int(count), PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        return parse_rate(DEFAULT_RATE)


def rate_limit() -> tuple[int, int]:
    """(cases, seconds) from ``settings.WEBSITE_RATE_LIMIT``."""
    return parse_rate(getattr(settings, "WEBSITE_RATE_LIMIT", DEFAULT_RATE))


def client_address(request: HttpRequest) -> str:
    """The client's address, trusting X-Forwarded-For only as deep as ``NUM_PROXIES`` (the
    same rule as the JSON endpoint's throttle)."""
    return str(BaseThrottle().get_ident(request))  # type: ignore[arg-type]


def _key(address: str) -> str:
    return f"website-filed:{address}"


def _recent(address: str, now: float, window: int) -> list[float]:
    history = cache.get(_key(address)) or []
    return [stamp for stamp in history if stamp > now - window]


def rate_exceeded(request: HttpRequest) -> bool:
    limit, window = rate_limit()
    return len(_recent(client_address(request), time.time(), window)) >= limit


def rate_record(request: HttpRequest) -> None:
    _limit, window = rate_limit()
    address, now = client_address(request), time.time()
    cache.set(_key(address), [*_recent(address, now, window), now], timeout=window)
