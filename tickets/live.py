"""Live events: pushed to the channel layer after commit, only from the write path."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox.all"
BATCH_FLUSH = 100  # messages held by ``batched()`` before they go out anyway

Outgoing = list[tuple[list[str], dict[str, Any]]]
_held: ContextVar[Outgoing | None] = ContextVar("live_held", default=None)


def department_group(department_id: int | None) -> str:
    return f"inbox.dept.{department_id or 'none'}"


def _send(outgoing: Outgoing) -> None:
    """One trip into the channel layer's event loop for all of ``outgoing`` (each
    ``async_to_sync`` call starts a loop and a Redis connection, which dominates the cost)."""
    layer = get_channel_layer()
    if layer is None or not outgoing:
        return

    async def send_all() -> None:
        for groups, message in outgoing:
            for group in groups:
                await layer.group_send(group, message)

    try:
        async_to_sync(send_all)()
    except Exception:  # a live update must never break the write that caused it
        logger.exception("live update of %d ticket(s) failed", len(outgoing))


@contextmanager
def batched() -> Iterator[None]:
    """For long jobs (the SLA sweep): hold the live messages of many tickets and send them
    together, every ``BATCH_FLUSH`` messages and at the end, instead of one by one."""
    token = _held.set([])
    try:
        yield
    finally:
        held = _held.get() or []
        _held.reset(token)
        _send(held)


def ticket_changed(
    *,
    ticket_id: int,
    event_id: int | None,
    kind: str,
    state: str,
    department_id: int | None,
    previous_department_id: int | None = None,
) -> None:
    """Tell open inboxes that a ticket changed. Consumers re-read it with the viewer's
    permissions, so the message carries ids only, never personal data."""
    message = {
        "type": "ticket.changed",
        "ticket_id": ticket_id,
        "event_id": event_id,
        "kind": kind,
        "state": state,
        "department_id": department_id,
    }
    groups = [INBOX_GROUP, department_group(department_id)]
    if previous_department_id != department_id:
        # A transfer or a return: the old department's open queues drop the row.
        groups.append(department_group(previous_department_id))
    held = _held.get()
    if held is None:
        _send([(groups, message)])
        return
    held.append((groups, message))
    if len(held) >= BATCH_FLUSH:
        _send(list(held))
        held.clear()
