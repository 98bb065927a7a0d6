"""One intake path for every channel.

A channel has already journaled the raw message (``integrations.journal``) and parsed it into
an ``IncomingMessage``. Intake decides what it is: a status query (a bare case number or
``进度 <case number>``), a follow-up joining the citizen's ticket that is still ``new`` or
``waiting_citizen``, or a new ticket. It returns what to tell the citizen.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from sla import services as sla
from tickets.errors import InvalidInput
from tickets.models import (
    Attachment,
    Category,
    Citizen,
    CitizenIdentity,
    Department,
    RequestType,
    State,
    Ticket,
    Urgency,
)
from tickets.services.case_numbers import case_number_next
from tickets.services.citizen import UPLOAD_PREFIX
from tickets.services.clocks import basis_new, sla_refresh
from tickets.services.events import event_append, iso
from tickets.services.workflow import ticket_resume
from tickets.text import strip_control

STATUS_QUERY = re.compile(r"^\s*(?:(?:进度|查询|查进度)\s*[:：]?\s*)?(\d{14})\s*$")
TITLE_LENGTH = 30


@dataclass
class IncomingAttachment:
    name: str = ""
    url: str = ""
    media_id: str = ""
    content_type: str = ""


@dataclass
class IncomingMessage:
    """A channel-neutral message, as a parser produces it."""

    channel: str
    sender_kind: str
    sender_id: str
    account: str = ""
    text: str = ""
    title: str = ""
    sender_name: str = ""
    phone: str = ""
    email: str = ""
    request_type: str = RequestType.HELP
    urgency: str = Urgency.NORMAL
    category_code: str = ""
    department_code: str = ""
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    attachments: list[IncomingAttachment] = field(default_factory=list)
    sent_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    resolve_due_at: dt.datetime | None = None
    confidential: bool = False
    external_ref: str = ""
    acknowledged: bool = False
    # False for things that may join a ticket but never open one (a location, a photo alone).
    may_open: bool = True
    # False for channels whose every message is a case of its own (12345 work orders, forms).
    may_follow_up: bool = True


@dataclass
class IntakeResult:
    action: str  # created | follow_up | status | ignored
    ticket: Ticket | None = None
    reply: str = ""
    lookup_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def lookup_url(ticket: Ticket) -> str:
    return f"{settings.SITE_URL}/track/?case_no={ticket.case_no}"


def status_text(ticket: Ticket) -> str:
    due = timezone.localtime(ticket.resolve_due_at).strftime("%Y-%m-%d")
    state = State(ticket.state).label
    # Only a case still being handled has a date to promise (merged/invalid ones never will).
    if ticket.state in (State.REPLIED, State.CLOSED, State.MERGED, State.INVALID):
        return f"您的诉求 {ticket.case_no} 当前状态：{state}。"
    return f"您的诉求 {ticket.case_no} 当前状态：{state}，预计 {due} 前办结。"


def citizen_for(message: IncomingMessage, *, at: dt.datetime) -> Citizen:
    """Find or create the citizen behind a channel identity (and remember their details)."""
    return citizen_take(message, at=at)[0]


def citizen_take(message: IncomingMessage, *, at: dt.datetime) -> tuple[Citizen, bool]:
    """The citizen behind a channel identity and whether they were created just now.

    The identity's ``last_seen_at`` is stamped and it is marked subscribed again; details the
    citizen had not given before (name, phone, e-mail) are filled in from the message."""
    if connection.vendor == "postgresql":
        return _citizen_take_postgres(message, at=at)
    identity = (
        CitizenIdentity.objects.select_related("citizen")
        .filter(kind=message.sender_kind, account=message.account, value=message.sender_id)
        .first()
    )
    if identity is None:
        try:
            with transaction.atomic():
                citizen = Citizen.objects.create(
                    name=message.sender_name[:64], phone=message.phone[:32], email=message.email
                )
                CitizenIdentity.objects.create(
                    citizen=citizen,
                    kind=message.sender_kind,
                    account=message.account,
                    value=message.sender_id,
                    last_seen_at=at,
                )
            return citizen, True
        except IntegrityError:
            # A first message from the same sender was taken in at the same moment: use theirs.
            identity = CitizenIdentity.objects.select_related("citizen").get(
                kind=message.sender_kind, account=message.account, value=message.sender_id
            )
    CitizenIdentity.objects.filter(pk=identity.pk).update(last_seen_at=at, subscribed=True)
    return _citizen_fill(identity.citizen, message), False


def _citizen_fill(citizen: Citizen, message: IncomingMessage) -> Citizen:
    changed = []
    for attr, value in _details(message).items():
        if value and not getattr(citizen, attr):
            setattr(citizen, attr, value)
            changed.append(attr)
    if changed:
        citizen.save(update_fields=changed)
    return citizen


def _details(message: IncomingMessage) -> dict[str, str]:
    return {"name": message.sender_name[:64], "phone": message.phone[:32], "email": message.email}


# One round trip for the citizen, new or known. The identity is inserted with a citizen id
# drawn from the citizen sequence; if it already existed the conflict clause stamps it instead
# and returns its citizen, whose missing details are filled. The citizen row is inserted only
# when the identity took the new id, so a sender's first two messages racing each other make
# one citizen: the second waits for the first's identity and then uses it. The final SELECT
# reads the snapshot from before the statement, so a citizen committed by such a racer while
# we waited is not in it (NULL details): read it then.
_CITIZEN_TAKE = """
WITH new_id AS (
    SELECT nextval(pg_get_serial_sequence('{citizen}', 'id')) AS id
), ident AS (
    INSERT INTO {identity} (citizen_id, kind, account, value, subscribed, last_seen_at)
    SELECT new_id.id, %(kind)s, %(account)s, %(value)s, true, %(at)s FROM new_id
    ON CONFLICT (kind, account, value)
    DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, subscribed = true
    RETURNING citizen_id
), created AS (
    INSERT INTO {citizen} (id, name, phone, email, created_at)
    SELECT ident.citizen_id, %(name)s, %(phone)s, %(email)s, %(at)s
    FROM ident JOIN new_id ON ident.citizen_id = new_id.id
    RETURNING id
), filled AS (
    UPDATE {citizen} AS c SET
        name = CASE WHEN c.name = '' THEN %(name)s ELSE c.name END,
        phone = CASE WHEN c.phone = '' THEN %(phone)s ELSE c.phone END,
        email = CASE WHEN c.email = '' THEN %(email)s ELSE c.email END
    FROM ident, new_id
    WHERE c.id = ident.citizen_id AND ident.citizen_id <> new_id.id
      AND ((c.name = '' AND %(name)s <> '') OR (c.phone = '' AND %(phone)s <> '')
           OR (c.email = '' AND %(email)s <> ''))
    RETURNING c.id, c.name, c.phone, c.email, c.created_at
)
SELECT ident.citizen_id, ident.citizen_id = new_id.id,
       COALESCE(filled.name, c.name), COALESCE(filled.phone, c.phone),
       COALESCE(filled.email, c.email), COALESCE(filled.created_at, c.created_at)
FROM ident CROSS JOIN new_id
LEFT JOIN filled ON filled.id = ident.citizen_id
LEFT JOIN {citizen} AS c ON c.id = ident.citizen_id
"""


def _citizen_take_postgres(message: IncomingMessage, *, at: dt.datetime) -> tuple[Citizen, bool]:
    sql = _CITIZEN_TAKE.format(
        citizen=connection.ops.quote_name(Citizen._meta.db_table),
        identity=connection.ops.quote_name(CitizenIdentity._meta.db_table),
    )
    details = _details(message)
    params: dict[str, Any] = {
        "kind": message.sender_kind,
        "account": message.account,
        "value": message.sender_id,
        "at": at,
        **details,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        citizen_id, created, name, phone, email, created_at = cursor.fetchone()
    names = ["id", "name", "phone", "email", "created_at"]
    if created:
        values = [citizen_id, details["name"], details["phone"], details["email"], at]
        return Citizen.from_db(connection.alias, names, values), True
    if name is None:  # committed by a racer after our snapshot was taken
        return _citizen_fill(Citizen.objects.get(pk=citizen_id), message), False
    return Citizen.from_db(
        connection.alias, names, [citizen_id, name, phone, email, created_at]
    ), False


def _download_state(item: IncomingAttachment) -> str:
    """Channel media (a media id or a URL) wait for the download job (``integrations.media``,
    whose outbox rows the ``created``/``citizen_message`` event hook writes); a website upload
    is already stored and is bound to its file by the website."""
    if item.media_id.startswith(UPLOAD_PREFIX) or not (item.media_id or item.url):
        return Attachment.Download.NONE
    return Attachment.Download.PENDING


def _attachments_add(ticket: Ticket | None, message: IncomingMessage, inbound: Any) -> list[int]:
    created = Attachment.objects.bulk_create(
        [
            Attachment(
                ticket=ticket,
                inbound=inbound,
                name=item.name[:200],
                source_url=item.url[:500],
                media_id=item.media_id[:200],
                content_type=item.content_type[:100],
                download=_download_state(item),
            )
            for item in message.attachments
        ]
    )
    return [item.pk for item in created if item.pk is not None]


def _status_reply(
    message: IncomingMessage, citizen: Citizen, case_no: str, *, new_citizen: bool
) -> IntakeResult:
    # A citizen created just now has no case yet: no need to look.
    ticket = None if new_citizen else Ticket.objects.filter(case_no=case_no).first()
    # A case number alone reveals nothing: only the citizen who filed it hears its status.
    if ticket is None or ticket.citizen_id != citizen.pk:
        return IntakeResult(
            action="status",
            reply=f"未找到编号为 {case_no} 的诉求，请核对编号，或在网站 /track/ 用编号和查询码查询。",
        )
    return IntakeResult(
        action="status", ticket=ticket, reply=status_text(ticket), lookup_url=lookup_url(ticket)
    )


def _follow_up_target(citizen: Citizen, message: IncomingMessage) -> Ticket | None:
    if not message.may_follow_up:
        return None
    return (
        Ticket.objects.filter(
            citizen=citizen,
            channel=message.channel,
            state__in=[State.NEW, State.WAITING_CITIZEN],
        )
        .order_by("-received_at", "-id")
        .first()
    )


def _follow_up(
    ticket: Ticket, message: IncomingMessage, inbound: Any, at: dt.datetime
) -> IntakeResult:
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    attachment_ids = _attachments_add(ticket, message, inbound)
    payload: dict[str, Any] = {"text": message.text, "attachments": attachment_ids}
    if message.latitude is not None and message.longitude is not None:
        payload["location"] = {
            "lat": str(message.latitude),
            "lng": str(message.longitude),
            "label": message.address,
        }
        if ticket.latitude is None:
            ticket.latitude, ticket.longitude = message.latitude, message.longitude
            ticket.address = ticket.address or message.address[:300]
            ticket.save(update_fields=["latitude", "longitude", "address", "updated_at"])
    event_append(ticket=ticket, kind="citizen_message", label="市民", payload=payload, at=at)
    waiting = ticket.state == State.WAITING_CITIZEN
    if waiting:
        ticket = ticket_resume(actor=None, ticket_id=ticket.pk, note="市民已补充材料")
    reply = f"已收到您对诉求 {ticket.case_no} 的补充，" + (
        "工单已恢复办理。" if waiting else "我们会一并处理。"
    )
    return IntakeResult(
        action="follow_up", ticket=ticket, reply=reply, lookup_url=lookup_url(ticket)
    )


def _title_from(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return first_line[:TITLE_LENGTH] + ("…" if len(first_line) > TITLE_LENGTH else "")


def ticket_create(
    *, message: IncomingMessage, citizen: Citizen | None, inbound: Any = None, at: dt.datetime
) -> Ticket:
    """Open a ticket with its deadlines computed by our rules (or the platform's due time)."""
    text = strip_control(message.text).strip()
    if not text:
        raise InvalidInput("诉求内容不能为空。", field="content")
    received_at = message.received_at or at
    category = (
        Category.objects.filter(code=message.category_code).first()
        if message.category_code
        else None
    )
    department = (
        Department.objects.filter(code=message.department_code).first()
        if message.department_code
        else None
    )
    deadlines = sla.deadlines_compute(
        received_at=received_at,
        request_type=message.request_type,
        urgency=message.urgency,
        category_id=category.pk if category else None,
    )
    resolve_due_at = message.resolve_due_at or deadlines.resolve_due_at
    ticket = Ticket(
        channel=message.channel,
        channel_account=message.account,
        request_type=message.request_type,
        urgency=message.urgency,
        category=category,
        department=department,
        citizen=citizen,
        title=(strip_control(message.title).strip() or _title_from(text))[:200],
        content=text,
        address=message.address[:300],
        latitude=message.latitude,
        longitude=message.longitude,
        received_at=received_at,
        ack_due_at=deadlines.ack_due_at,
        resolve_due_at=resolve_due_at,
        resolve_unit=deadlines.resolve_unit,
        calendar_confirmed=deadlines.calendar_confirmed or message.resolve_due_at is not None,
        confidential=message.confidential,
        external_ref=message.external_ref,
        # Work orders arrive acknowledged by the platform: its ack clock, not ours.
        state=State.ACKNOWLEDGED if message.acknowledged else State.NEW,
        acknowledged_at=received_at if message.acknowledged else None,
        ack_on_time=True if message.acknowledged else None,
    )
    ticket.resolve_basis = (
        # The platform's deadline is authoritative: never recomputed by our policies.
        {"platform_due": iso(message.resolve_due_at), "extra_days": 0}
        if message.resolve_due_at is not None
        else basis_new(start=received_at, policy=deadlines.policy)
    )
    sla_refresh(ticket)
    # Taken last, just before the insert: where the number is taken in this transaction
    # (SQLite, tests), the day's counter row stays locked until commit (case_numbers.py).
    ticket.case_no = case_number_next(received_at=received_at)
    ticket.save()
    attachment_ids = _attachments_add(ticket, message, inbound)
    payload: dict[str, Any] = {
        "channel": message.channel,
        "resolve_due_at": iso(resolve_due_at),
        "calendar_confirmed": ticket.calendar_confirmed,
    }
    if attachment_ids:  # what the media-download hook queues (no look-up when there are none)
        payload["attachments"] = attachment_ids
    if message.resolve_due_at is not None and message.resolve_due_at != deadlines.resolve_due_at:
        payload["our_resolve_due_at"] = iso(deadlines.resolve_due_at)
    event_append(
        ticket=ticket, kind="created", label="市民", to_state=ticket.state, payload=payload, at=at
    )
    return ticket


def intake_message(*, message: IncomingMessage, inbound: Any = None) -> IntakeResult:
    """Decide what a parsed message is and act on it, in one transaction.

    Called inside a transaction (the journal's), it joins it without a savepoint: an error
    rolls back the caller's transaction block too."""
    at = timezone.now()
    with transaction.atomic(savepoint=False):
        citizen, new_citizen = citizen_take(message, at=at)
        match = STATUS_QUERY.match(message.text or "")
        if match and not message.attachments and message.may_follow_up:
            return _status_reply(message, citizen, match.group(1), new_citizen=new_citizen)
        # A citizen created just now has no earlier ticket to follow up.
        target = None if new_citizen else _follow_up_target(citizen, message)
        if target is not None:
            return _follow_up(target, message, inbound, at)
        if not message.may_open or not message.text.strip():
            return IntakeResult(action="ignored")
        ticket = ticket_create(message=message, citizen=citizen, inbound=inbound, at=at)
    return IntakeResult(
        action="created",
        ticket=ticket,
        reply=(
            f"您的诉求已收到，编号 {ticket.case_no}。我们将在30分钟内受理，"
            f"可凭编号查询进度：{lookup_url(ticket)}"
        ),
        lookup_url=lookup_url(ticket),
    )
