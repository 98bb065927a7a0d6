"""The contract between the outbox worker and the channel transports.

A channel lists its ways to send a citizen notice in its ``ChannelSpec.senders``
(``integrations.registry``). A sender either returns a short description of how it sent
(``"wechat:custom"``) or raises ``DeliveryError``: ``permanent=True`` means retrying the same
way is pointless (e.g. outside WeChat's 48-hour window), so the worker falls back to the next
way (template, SMS, ...); otherwise the worker retries later with backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.registry import channel_spec_or_none


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Notice:
    """What to tell a citizen about their case, channel-neutral."""

    ticket_id: int
    case_no: str
    kind: str  # received | acknowledged | request_info | extended | replied
    text: str  # full text (customer-service message, SMS)
    fields: dict[str, str] = field(default_factory=dict)  # short fields for template messages
    url: str = ""


# sender(account, identity_value, notice, identity) -> how it was sent
NoticeSender = Callable[[Any, str, Notice, Any], str]


def notice_senders(channel: str) -> list[tuple[str, NoticeSender]]:
    """The ways to reach a citizen of ``channel``, in the order they are tried."""
    spec = channel_spec_or_none(channel)
    return list(spec.senders) if spec is not None else []
