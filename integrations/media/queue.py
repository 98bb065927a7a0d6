"""Queue the download of channel media: an event hook (registered by ``IntegrationsConfig``).

It runs inside the intake's transaction when a ticket is created or a citizen's follow-up
joins it, and writes one ``media_download`` outbox row per pending attachment the event lists
(never talking to the outside: the worker downloads later). The row is keyed on the
attachment, so it is written once however often the hook sees it.
"""

from __future__ import annotations

from django.utils import timezone

from integrations.media.download import KIND
from integrations.models import ChannelAccount, OutboxMessage
from integrations.registry import channel_spec_or_none
from tickets.models import Attachment, TicketEvent

EVENTS = frozenset({"created", "citizen_message"})


def _downloads(channel: str) -> bool:
    """Whether the channel sends media to download (``ChannelSpec.media``); website uploads
    come with their files."""
    spec = channel_spec_or_none(channel)
    return spec is not None and spec.media is not None


def _account(channel: str, slug: str) -> ChannelAccount | None:
    if not slug:
        return None
    return ChannelAccount.objects.filter(kind=channel, slug=slug).first()


def on_ticket_event(event: TicketEvent) -> None:
    """Write the outbox rows that download the pending channel media an event brought (its
    payload's ``attachments``: a message without any costs no statement here)."""
    ids = (event.payload or {}).get("attachments") or []
    if event.kind not in EVENTS or not ids or not _downloads(event.ticket.channel):
        return
    ticket = event.ticket
    pending = Attachment.objects.filter(
        pk__in=ids, ticket_id=ticket.pk, download=Attachment.Download.PENDING, file=""
    ).select_related("inbound")
    now = timezone.now()
    accounts: dict[tuple[str, str], ChannelAccount | None] = {}
    rows = []
    for attachment in pending:
        inbound = attachment.inbound
        channel = inbound.channel if inbound is not None else ticket.channel
        slug = (inbound.account if inbound is not None else "") or ticket.channel_account
        if (channel, slug) not in accounts:
            accounts[channel, slug] = _account(channel, slug)
        rows.append(
            OutboxMessage(
                idempotency_key=f"media:{attachment.pk}",
                kind=KIND,
                channel=channel,
                account=accounts[channel, slug],
                ticket=ticket,
                recipient="",
                payload={"attachment_id": attachment.pk},
                created_at=now,
                next_attempt_at=now,
            )
        )
    # One statement for all; a row already written for an attachment is left as it is.
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
