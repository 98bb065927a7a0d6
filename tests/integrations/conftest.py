"""Fixtures of the integration tests."""

from tests.integrations.echo_channel.registered import echo_channel  # noqa: F401 - the echo channel
