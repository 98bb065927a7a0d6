"""Staff login lock-out.

django-axes locks one username from one address after ``LOGIN_FAILURE_LIMIT`` failures
(for ``LOGIN_COOLOFF_MINUTES``). Password spraying — one guess for each of many accounts —
never trips that, so an address with ``LOGIN_IP_FAILURE_LIMIT`` failures over all usernames
within the cool-off is **throttled**: one attempt per ``LOGIN_IP_THROTTLE_SECONDS``. A spray
slows to a crawl, while colleagues behind the same office NAT or proxy can still sign in
(a throttle, not a lock: a correct password is taken once the pause has passed).

The client's address is read as the rest of the site reads it (X-Forwarded-For trusted only
``NUM_PROXIES`` deep), not axes' default of the proxy's own address, which would throttle the
whole city's staff at once behind a reverse proxy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

# axes keeps usernames in a column of 255 characters: a longer one is cut, never a 500.
USERNAME_KEPT = 150


def client_ip(request: Any) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the same client address as the throttles use (None for a
    request with none, such as a test's forced login)."""
    if request is None or not getattr(request, "META", {}).get("REMOTE_ADDR"):
        return None
    return str(BaseThrottle().get_ident(request))


def username_of(request: Any, credentials: dict[str, Any] | None) -> str:
    """``AXES_USERNAME_CALLABLE``: the username as typed, at most ``USERNAME_KEPT`` long."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(username)[:USERNAME_KEPT]


def _address_attempts(request: Any) -> tuple[int, dt.datetime | None]:
    """Failed logins from the request's address within the cool-off, whatever the username,
    and when the latest was."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0, None
    attempts = AccessAttempt.objects.filter(ip_address=address)
    cool_off = get_cool_off(request)
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    found = attempts.aggregate(total=Sum("failures_since_start"), last=Max("attempt_time"))
    return int(found["total"] or 0), found["last"]


def address_failures(request: Any) -> int:
    return _address_attempts(request)[0]


def address_throttled(request: Any) -> bool:
    limit = int(getattr(settings, "LOGIN_IP_FAILURE_LIMIT", 30))
    if limit <= 0:
        return False
    failures, last = _address_attempts(request)
    if failures < limit or last is None:
        return False
    pause = dt.timedelta(seconds=int(getattr(settings, "LOGIN_IP_THROTTLE_SECONDS", 30)))
    return timezone.now() - last < pause


class StaffLockoutHandler(AxesDatabaseHandler):  # type: ignore[misc]
    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        return bool(super().is_locked(request, credentials)) or address_throttled(request)

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        """Axes flags the request as locked out only by its per-username count; flag it for
        the address's count too, so the login page answers with the lock-out."""
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and not getattr(request, "axes_locked_out", False):
            if address_throttled(request):
                request.axes_locked_out = True
