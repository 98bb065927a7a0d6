"""Live events: pushed to the channel layer after commit, only from the write path.

A ``ticket.changed`` message names one changed ticket (``ticket_id``, ``event_id``, ``kind``,
``state``, ``department_id``), or, when many tickets changed together (the SLA sweep), lists
them under ``items``, one such dict per change: a group then gets one message for the whole
batch instead of one per ticket. Group members that only need to know that something changed
(the live dashboard) handle both alike; ``changes(message)`` gives the list either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox.all"
MESSAGE_TYPE = "ticket.changed"
CHANGE_KEYS = ("ticket_id", "event_id", "kind", "state", "department_id")
BATCH_FLUSH = 100  # changes held by ``batched()`` before they go out anyway

Outgoing = list[tuple[list[str], dict[str, Any]]]
_held: ContextVar[Outgoing | None] = ContextVar("live_held", default=None)


def department_group(department_id: int | None) -> str:
    return f"inbox.dept.{department_id or 'none'}"


def changes(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The changes a ``ticket.changed`` message carries: its ``items``, or itself."""
    items = message.get("items")
    return list(items) if items is not None else [message]


def _coalesce(outgoing: Outgoing) -> list[tuple[str, dict[str, Any]]]:
    """One message per group: a single change as it is, several under ``items``."""
    by_group: dict[str, list[dict[str, Any]]] = {}
    for groups, message in outgoing:
        for group in groups:
            by_group.setdefault(group, []).append(message)
    return [
        (
            group,
            messages[0]
            if len(messages) == 1
            else {
                "type": MESSAGE_TYPE,
                "items": [{key: m[key] for key in CHANGE_KEYS} for m in messages],
            },
        )
        for group, messages in by_group.items()
    ]


# After a failed send, live updates are skipped for a while (see _send).
LAYER_COOL_DOWN = 15.0
# A hung Redis costs a request at most this long (the layer's own socket timeout is longer,
# since consumers block on it for their next message).
SEND_TIMEOUT = 1.0
_layer_down_until = [0.0]


def _send(outgoing: Outgoing) -> None:
    """One trip into the channel layer's event loop for all of ``outgoing`` (each
    ``async_to_sync`` call starts a loop and a Redis connection, which dominates the cost),
    and one message per group (each ``group_send`` is a few Redis round trips)."""
    layer = get_channel_layer()
    if layer is None or not outgoing:
        return
    if time.monotonic() < _layer_down_until[0]:
        # The layer failed moments ago: the pages catch up on reconnect (/inbox/changes/);
        # trying again now would cost this request the layer's timeout once more.
        return
    messages = _coalesce(outgoing)

    async def send_all() -> None:
        async with asyncio.timeout(SEND_TIMEOUT):
            for group, message in messages:
                await layer.group_send(group, message)

    try:
        async_to_sync(send_all)()
    except Exception:  # a live update must never break the write that caused it
        _layer_down_until[0] = time.monotonic() + LAYER_COOL_DOWN
        logger.exception("live update of %d ticket(s) failed", len(outgoing))


def _emit(outgoing: Outgoing) -> None:
    held = _held.get()
    if held is None:
        _send(outgoing)
        return
    held.extend(outgoing)
    if len(held) >= BATCH_FLUSH:
        _send(list(held))
        held.clear()


@contextmanager
def batched() -> Iterator[None]:
    """For long jobs (the SLA sweep): hold the live messages of many tickets and send them
    together, every ``BATCH_FLUSH`` changes and at the end, one message per group."""
    token = _held.set([])
    try:
        yield
    finally:
        held = _held.get() or []
        _held.reset(token)
        _send(held)


def _outgoing(
    *,
    ticket_id: int,
    event_id: int | None,
    kind: str,
    state: str,
    department_id: int | None,
    previous_department_id: int | None = None,
) -> tuple[list[str], dict[str, Any]]:
    message = {
        "type": MESSAGE_TYPE,
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
    return groups, message


def ticket_changed(
    *,
    ticket_id: int,
    event_id: int | None,
    kind: str,
    state: str,
    department_id: int | None,
    previous_department_id: int | None = None,
) -> None:
    """Tell open inboxes that a ticket changed. Consumers pass the ids on and the page re-reads
    the row with the viewer's permissions, so the message carries ids only, never personal
    data."""
    _emit(
        [
            _outgoing(
                ticket_id=ticket_id,
                event_id=event_id,
                kind=kind,
                state=state,
                department_id=department_id,
                previous_department_id=previous_department_id,
            )
        ]
    )


def tickets_changed(items: Iterable[dict[str, Any]]) -> None:
    """``ticket_changed`` for many tickets at once (each item takes its keyword arguments):
    one message per group for all of them."""
    _emit([_outgoing(**item) for item in items])
