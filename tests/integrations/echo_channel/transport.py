"""The echo channel's outbound side: its one way to reach a citizen, and its polling job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.outbound.base import Notice

# What the sender "sent": (account slug, recipient, notice kind, text).
SENT: list[tuple[str, str, str, str]] = []
POLLS: list[int] = []


def echo_send(account: Any, recipient: str, notice: Notice, identity: Any) -> str:
    SENT.append((account.slug, recipient, notice.kind, notice.text))
    return "echo:reply"


@dataclass
class PollResult:
    handled: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"echo: {self.handled} polled"


def echo_poll() -> PollResult:
    POLLS.append(1)
    return PollResult(handled=1)
