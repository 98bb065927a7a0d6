"""Replays tests/fixtures/channels/wechat.json through the WeChat endpoint."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.integrations.replay import run_scenario, scenario_names


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", scenario_names("wechat"))
def test_it_replays_the_wechat_fixture(scenario: str, client: Client) -> None:
    run_scenario("wechat", scenario, client)
