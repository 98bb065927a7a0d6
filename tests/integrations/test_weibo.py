"""Replays every Weibo scenario of tests/fixtures/channels/weibo.json through the harness."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.integrations.replay import run_scenario, scenario_names


@pytest.mark.parametrize("name", scenario_names("weibo"))
def test_it_replays_the_weibo_scenario(db: Any, client: Client, name: str) -> None:
    run_scenario("weibo", name, client)
