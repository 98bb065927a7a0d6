"""Under ASGI the middleware chain runs in one sync thread (config/middleware.py)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from django.test import AsyncClient, override_settings

pytestmark = pytest.mark.django_db(transaction=True)


def _hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return calls


def test_a_request_crosses_into_sync_code_at_most_twice(monkeypatch):
    calls = _hops(monkeypatch)
    response = async_to_sync(AsyncClient().get)("/healthz")
    assert response.status_code == 200
    # Signals, the chain (one hop for every middleware's request and response part), the
    # process_view hooks, the view, the close: no middleware hops on its own.
    assert not [call for call in calls if ".process_request" in call or ".process_response" in call]
    assert len(calls) <= 5, calls


def test_without_the_boundary_each_middleware_hops(monkeypatch, settings):
    middleware = [m for m in settings.MIDDLEWARE if not m.endswith("SyncBoundaryMiddleware")]
    calls = _hops(monkeypatch)
    with override_settings(MIDDLEWARE=middleware):
        response = async_to_sync(AsyncClient().get)("/healthz")
    assert response.status_code == 200
    assert "SessionMiddleware.process_request" in calls
    assert len(calls) > 10, calls
