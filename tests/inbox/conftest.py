"""Helpers for the inbox tests: signed-in clients for the fixed cast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def client_for(cast: dict[str, Any]) -> Callable[[str], Client]:
    def make(who: str) -> Client:
        client = Client()
        client.force_login(cast[who])
        return client

    return make


# The browser tests' server and browser, for the other browser test modules too.
from tests.inbox.test_browser import browser, live_asgi  # noqa: E402, F401
