"""Live events: pushed to the channel layer after commit, only from the write path."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox.all"


def department_group(department_id: int | None) -> str:
    return f"inbox.dept.{department_id or 'none'}"


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
    layer = get_channel_layer()
    if layer is None:
        return
    message = {
        "type": "ticket.changed",
        "ticket_id": ticket_id,
        "event_id": event_id,
        "kind": kind,
        "state": state,
        "department_id": department_id,
    }
    try:
        groups = [INBOX_GROUP, department_group(department_id)]
        if previous_department_id != department_id:
            # A transfer or a return: the old department's open queues drop the row.
            groups.append(department_group(previous_department_id))
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # a live update must never break the write that caused it
        logger.exception("live update for ticket %s failed", ticket_id)
