"""Citizen notices (acknowledged, asked for information, extended, replied) as outbox rows.

``on_ticket_event`` is an event hook (registered by ``IntegrationsConfig.ready``): it runs
inside the transaction that wrote the event, so the notice exists exactly when the change
does. It only writes an ``OutboxMessage``; the outbox worker sends it later.

Who gets notices and how is the channel's ``ChannelSpec`` (``integrations.registry``): its
``identity_kind`` (how its citizens are addressed), ``conversational`` (whether they can
answer by replying) and ``notices`` — hotline cases get none from us (the 12345 platform tells
the caller, through the callbacks), nor do imported history (no channel package), merged or
invalid cases. A channel value without a spec stops the start (``integrations.E001``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from django.utils import timezone

from integrations.models import ChannelAccount, OutboxMessage
from integrations.outbound.base import Notice
from integrations.registry import ChannelSpec, channel_spec_or_none
from tickets.models import CitizenIdentity, Reply, State, Ticket, TicketEvent
from tickets.models.choices import INTERNAL_CHANNELS
from tickets.services.intake import lookup_url

logger = logging.getLogger(__name__)

KIND = "citizen_notice"
# timeline event -> notice kind
NOTICE_EVENTS = {
    "acknowledge": "acknowledged",
    "request_info": "request_info",
    "extension_approved": "extended",
    "reply": "replied",
}
SILENT_STATES = frozenset({State.MERGED, State.INVALID})
FIELD_MAX = 20  # template message fields show at most 20 characters


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= FIELD_MAX else text[: FIELD_MAX - 1] + "…"


def _spec(channel: str) -> ChannelSpec | None:
    spec = channel_spec_or_none(channel)
    if spec is None and channel not in INTERNAL_CHANNELS:
        logger.error("channel %r has no ChannelSpec: its citizens get no notice", channel)
    return spec


def _conversational(channel: str) -> bool:
    spec = channel_spec_or_none(channel)
    return spec is not None and spec.conversational


def _day(value: Any) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d}" if value else ""


def notice_for(event: TicketEvent, ticket: Ticket) -> Notice | None:
    """The notice a timeline event gives the citizen, or None."""
    kind = NOTICE_EVENTS.get(event.kind)
    if kind is None:
        return None
    case_no, url = ticket.case_no, lookup_url(ticket)
    state = str(State(ticket.state).label)
    due = _day(ticket.resolve_due_at)
    payload = event.payload or {}
    if kind == "acknowledged":
        text = f"您的诉求（编号 {case_no}）已受理，我们将在 {due} 前办结。查询进度：{url}"
        remark = f"预计 {due} 前办结"
    elif kind == "request_info":
        question = str(payload.get("question", ""))
        how = "请直接回复本消息，或" if _conversational(ticket.channel) else "请"
        text = (
            f"关于您的诉求（编号 {case_no}），承办部门需要您补充：{question}"
            f" {how}凭编号和查询码在 {url} 补充。"
        )
        remark = question
    elif kind == "extended":
        text = f"您的诉求（编号 {case_no}）办理期限已延长至 {due}，我们会尽快办理。"
        remark = f"办结期限延长至 {due}"
    else:
        replies = Reply.objects.filter(ticket=ticket).order_by("-created_at", "-id")
        reply_id = payload.get("reply_id")
        reply = (replies.filter(pk=reply_id) if reply_id else replies).first()
        content = reply.content if reply is not None else ""
        text = f"您的诉求（编号 {case_no}）已答复：{content} 欢迎凭编号和查询码评价办理结果：{url}"
        remark = content
    return Notice(
        ticket_id=ticket.pk,
        case_no=case_no,
        kind=kind,
        text=text,
        fields={
            "case_no": case_no,
            "state": state,
            "time": f"{timezone.localtime(event.created_at):%Y-%m-%d %H:%M}",
            "remark": _short(remark),
        },
        url=url,
    )


def recipient_for(ticket: Ticket) -> tuple[str, str]:
    """(identity kind, value) to address the citizen in the ticket's channel; ("", "") if
    nobody is known."""
    citizen = ticket.citizen
    if citizen is None:
        return "", ""
    spec = channel_spec_or_none(ticket.channel)
    kind = spec.identity_kind if spec is not None and spec.identity_kind else None
    identities = CitizenIdentity.objects.filter(citizen=citizen)
    if kind is not None:
        identities = identities.filter(kind=kind)
    if ticket.channel_account:
        exact = identities.filter(account=ticket.channel_account).order_by("-last_seen_at").first()
        if exact is not None:
            return exact.kind, exact.value
    identity = identities.order_by("-last_seen_at", "-id").first()
    if identity is not None:
        return identity.kind, identity.value
    if citizen.phone:
        return CitizenIdentity.Kind.PHONE, citizen.phone
    return "", ""


def account_for(ticket: Ticket) -> ChannelAccount | None:
    """The channel account the case came in through (by slug, else the only active one)."""
    accounts = ChannelAccount.objects.filter(kind=ticket.channel, active=True)
    if ticket.channel_account:
        exact = accounts.filter(slug=ticket.channel_account).first()
        if exact is not None:
            return exact
    only = list(accounts[:2])
    return only[0] if len(only) == 1 else None


def on_ticket_event(event: TicketEvent) -> None:
    """Write the outbox row for a notice the citizen should get (inside the transaction)."""
    if event.kind not in NOTICE_EVENTS:
        return
    ticket = Ticket.objects.select_related("citizen").get(pk=event.ticket_id)
    spec = _spec(ticket.channel)
    if spec is None or not spec.notices or ticket.state in SILENT_STATES:
        return
    notice = notice_for(event, ticket)
    if notice is None:
        return
    identity_kind, recipient = recipient_for(ticket)
    now = timezone.now()
    OutboxMessage.objects.get_or_create(
        idempotency_key=f"notice:{event.pk}",
        defaults={
            "kind": KIND,
            "channel": ticket.channel,
            "account": account_for(ticket),
            "ticket": ticket,
            "recipient": recipient[:200],
            "payload": {"notice": asdict(notice), "identity_kind": identity_kind},
            "created_at": now,
            "next_attempt_at": now,
        },
    )


def notice_received(*, inbound: Any) -> OutboxMessage | None:
    """Send a conversational channel's answer to a message that was taken in after its
    request had been answered (replayed from the spool, or by the recovery pass): the
    passive reply that would have carried the case number never reached the citizen."""
    response = inbound.response or {}
    text = str(response.get("reply") or "")
    if inbound.ticket_id is None or not text or not _conversational(inbound.channel):
        return None
    ticket = Ticket.objects.select_related("citizen").get(pk=inbound.ticket_id)
    identity_kind, recipient = recipient_for(ticket)
    url = str(response.get("lookup_url") or lookup_url(ticket))
    now = timezone.now()
    notice = Notice(
        ticket_id=ticket.pk,
        case_no=ticket.case_no,
        kind="received",
        text=text if url in text else f"{text} {url}",
        fields={
            "case_no": ticket.case_no,
            "state": str(State(ticket.state).label),
            "time": f"{timezone.localtime(inbound.received_at):%Y-%m-%d %H:%M}",
            "remark": _short("诉求已登记"),
        },
        url=url,
    )
    row, _created = OutboxMessage.objects.get_or_create(
        idempotency_key=f"received:{inbound.pk}",
        defaults={
            "kind": KIND,
            "channel": ticket.channel,
            "account": account_for(ticket),
            "ticket": ticket,
            "recipient": recipient[:200],
            "payload": {"notice": asdict(notice), "identity_kind": identity_kind},
            "created_at": now,
            "next_attempt_at": now,
        },
    )
    return row
