"""The fixture that registers the echo channel for one test, and forgets it afterwards."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.urls import clear_url_caches

from integrations.registry import ChannelSpec, channel_register, channel_unregister
from tests.integrations.echo_channel import transport
from tests.integrations.echo_channel.channel import SPEC


def _urls_reload() -> None:
    """The site's URLconf built again from the registry (as at a process's start)."""
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    clear_url_caches()


@pytest.fixture
def echo_channel() -> Iterator[ChannelSpec]:
    transport.SENT.clear()
    transport.POLLS.clear()
    channel_register(SPEC)
    _urls_reload()
    yield SPEC
    channel_unregister(SPEC.kind)
    _urls_reload()
