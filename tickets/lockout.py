"""Staff login lock-out: django-axes locks one username from one address after
``LOGIN_FAILURE_LIMIT`` failures; this handler also locks an address after
``LOGIN_IP_FAILURE_LIMIT`` failures across all usernames, so password spraying (one guess for
each of many accounts) is limited too. Both unlock after ``LOGIN_COOLOFF_MINUTES``."""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def address_failures(request: Any) -> int:
    """Failed logins from the request's address within the cool-off, whatever the username."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    attempts = AccessAttempt.objects.filter(ip_address=address)
    cool_off = get_cool_off(request)
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return int(attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0)


def address_locked(request: Any) -> bool:
    limit = int(getattr(settings, "LOGIN_IP_FAILURE_LIMIT", 30))
    return limit > 0 and address_failures(request) >= limit


class StaffLockoutHandler(AxesDatabaseHandler):  # type: ignore[misc]
    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        return bool(super().is_locked(request, credentials)) or address_locked(request)

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        """Axes flags the request as locked out only by its per-username count; flag it for
        the address's count too, so the login page answers with the lock-out."""
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and not getattr(request, "axes_locked_out", False):
            if address_locked(request):
                request.axes_locked_out = True
