"""12345 callbacks (accepted, returned, extension_requested, replied) as outbox rows.

``on_ticket_event`` is registered as a timeline hook by ``IntegrationsConfig.ready``. It runs
inside the write transaction of the change, so it only writes an ``OutboxMessage``; the
signed POST is made later by ``integrations.hotline.transport`` after commit, with retries.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from integrations.hotline.orders import platform_version
from integrations.models import ChannelAccount, OutboxMessage
from tickets.models import Channel, Reply, Ticket, TicketEvent

logger = logging.getLogger(__name__)

KIND = "hotline_callback"
# Our timeline event kind → the callback event the platform knows.
CALLBACK_EVENTS = {
    "accept": "accepted",
    "return_to_dispatch": "returned",
    "request_extension": "extension_requested",
    "reply": "replied",
}


def callback_body(event: TicketEvent, ticket: Ticket, *, version: int) -> dict[str, Any]:
    """The JSON the platform receives: ``order_no``, ``version``, ``event``, ``at`` + details."""
    name = CALLBACK_EVENTS[event.kind]
    payload = event.payload or {}
    department = ticket.department.name if ticket.department else ""
    body: dict[str, Any] = {
        "order_no": ticket.external_ref,
        "version": version,
        "event": name,
        "at": timezone.localtime(event.created_at).isoformat(timespec="seconds"),
        "case_no": ticket.case_no,
    }
    if name == "accepted":
        body.update(department=department, handler=payload.get("assignee", ""))
    elif name == "returned":
        body.update(reason=payload.get("reason", ""), department=payload.get("department", ""))
    elif name == "extension_requested":
        body.update(days=payload.get("days"), reason=payload.get("reason", ""))
    else:
        reply_id = payload.get("reply_id")
        reply = Reply.objects.filter(pk=reply_id).first() if reply_id else None
        body.update(
            content=reply.content if reply else "",
            handler=event.actor_label,
            department=department,
        )
    return body


def on_ticket_event(event: TicketEvent) -> None:
    """Queue the platform's callback for a 12345 ticket's accept, return, extension request
    or reply. Never sends anything here: this is inside the transaction of the change."""
    if event.kind not in CALLBACK_EVENTS:
        return
    ticket = event.ticket
    if ticket.channel != Channel.HOTLINE or not ticket.external_ref:
        return
    account = ChannelAccount.objects.filter(
        slug=ticket.channel_account, kind=Channel.HOTLINE
    ).first()
    if account is None:
        logger.warning("hotline ticket %s: no account %r", ticket.pk, ticket.channel_account)
    now = timezone.now()
    OutboxMessage.objects.create(
        kind=KIND,
        channel=Channel.HOTLINE,
        account=account,
        ticket=ticket,
        recipient=ticket.external_ref,
        payload=callback_body(event, ticket, version=platform_version(ticket)),
        idempotency_key=f"hotline:{event.pk}",
        created_at=now,
        next_attempt_at=now,
    )
