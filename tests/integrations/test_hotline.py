"""The 12345 hotline fixture scenarios, replayed through the harness as their `about` says."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.integrations.replay import run_scenario, scenario_names


@pytest.mark.parametrize("name", scenario_names("hotline"))
def test_it_replays_the_hotline_scenario(name: str, db: Any, client: Client) -> None:
    run_scenario("hotline", name, client)
