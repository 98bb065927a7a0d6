"""Reads around one case for the ticket page and the supervisor's approval queue, each with
the reader's department scope applied (``ticket_visible_q``): the duplicates merged into a
case, the citizen's other cases, the notices sent to the citizen, and what waits for approval.

A page calls each once: one query apiece, whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from integrations.models import OutboxMessage
from integrations.outbound.sms import mask_phone
from tickets import publication
from tickets.channels import channel_labels, channel_way_labels
from tickets.models import ExtensionRequest, State, Ticket
from tickets.models_public import PublicRecord
from tickets.permissions import role_may
from tickets.selectors import ticket_visible_q, user_role

EARLIER_CASES_SHOWN = 10
APPROVALS_SHOWN = 200
CASE_FIELDS = ("pk", "case_no", "title", "state", "channel", "received_at", "department__name")

NOTICE_KINDS = {
    "acknowledged": "受理通知",
    "request_info": "请补充材料",
    "extended": "延期通知",
    "replied": "答复通知",
}
# The 12345 platform's callbacks (integrations.hotline.callbacks.CALLBACK_EVENTS).
CALLBACK_KINDS = {
    "accepted": "签收回告",
    "returned": "退单回告",
    "extension_requested": "延期申请回告",
    "replied": "答复回告",
}


@dataclass(frozen=True)
class CaseLine:
    """A related case as the ticket page lists it."""

    case_no: str
    title: str
    state: str
    state_label: str
    channel_label: str
    received_at: dt.datetime
    department: str


def _lines(rows: Any) -> list[CaseLine]:
    states = dict(State.choices)
    channels = channel_labels()
    return [
        CaseLine(
            case_no=row["case_no"],
            title=row["title"],
            state=row["state"],
            state_label=str(states.get(row["state"], row["state"])),
            channel_label=str(channels.get(row["channel"], row["channel"])),
            received_at=row["received_at"],
            department=row["department__name"] or "",
        )
        for row in rows
    ]


def ticket_duplicates(*, user: Any, ticket: Ticket) -> list[CaseLine]:
    """The cases merged into ``ticket`` that the user may see, oldest first."""
    rows = (
        Ticket.objects.filter(ticket_visible_q(user), duplicate_of_id=ticket.pk)
        .order_by("received_at", "id")
        .values(*CASE_FIELDS)
    )
    return _lines(rows)


def citizen_earlier_cases(
    *, user: Any, ticket: Ticket, limit: int = EARLIER_CASES_SHOWN
) -> tuple[list[CaseLine], bool]:
    """The same citizen's other cases that the user may see, newest first (at most
    ``limit``; and whether there are more)."""
    if ticket.citizen_id is None:
        return [], False
    rows = list(
        Ticket.objects.filter(ticket_visible_q(user), citizen_id=ticket.citizen_id)
        .exclude(pk=ticket.pk)
        .order_by("-received_at", "-id")
        .values(*CASE_FIELDS)[: limit + 1]
    )
    return _lines(rows[:limit]), len(rows) > limit


@dataclass(frozen=True)
class NoticeLine:
    """One message to the citizen (or to the 12345 platform) and what became of it."""

    kind: str
    way: str
    status: str
    status_label: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    text: str
    error: str


def _way(row: OutboxMessage, channels: dict[str, str], ways: dict[str, str]) -> str:
    """How a notice went out (``via``: "<channel>:<way>", named by the channel's spec, or the
    SMS backend)."""
    channel = channels.get(row.channel, row.channel)
    if row.kind == "hotline_callback":
        return "12345 平台回告"
    if row.via.startswith("sms"):
        return f"短信 {mask_phone(row.recipient)}" if row.recipient.isdigit() else "短信"
    if row.via:
        return ways.get(row.via, f"{channel}（{row.via}）")
    return str(channel)


def ticket_notices(*, ticket: Ticket) -> list[NoticeLine]:
    """Every outbox message of the ticket, oldest first: what the citizen was told, through
    which way, and whether it arrived. The caller has checked the ticket (``ticket_access``);
    the notices are the ticket's own, so they share its scope."""
    channels, ways = channel_labels(), channel_way_labels()
    statuses = dict(OutboxMessage.Status.choices)
    lines = []
    for row in OutboxMessage.objects.filter(ticket_id=ticket.pk).order_by("created_at", "id"):
        payload: dict[str, Any] = row.payload if isinstance(row.payload, dict) else {}
        notice: dict[str, Any] = payload.get("notice") or {}
        notice = notice if isinstance(notice, dict) else {}
        if row.kind == "hotline_callback":
            kind = CALLBACK_KINDS.get(str(payload.get("event", "")), "12345 回告")
            text = str(payload.get("content") or payload.get("reason") or "")
        else:
            kind = NOTICE_KINDS.get(str(notice.get("kind", "")), row.kind)
            text = str(notice.get("text", ""))
        lines.append(
            NoticeLine(
                kind=kind,
                way=_way(row, channels, ways),
                status=row.status,
                status_label=str(statuses.get(row.status, row.status)),
                created_at=row.created_at,
                sent_at=row.sent_at,
                text=text,
                error=row.last_error if row.status != OutboxMessage.Status.SENT else "",
            )
        )
    return lines


# --- the approval queue -------------------------------------------------------------------


def may_decide_extensions(user: Any) -> bool:
    role = user_role(user)
    return role is not None and role_may(role, "decide_extension", own_department=True)


def may_sign_off_replies(user: Any) -> bool:
    return user_role(user) in publication.REVIEWER_ROLES


def pending_extensions(*, user: Any) -> QuerySet[ExtensionRequest]:
    """Extension requests waiting for a decision on cases the user may decide, oldest first
    (none for a role that does not decide extensions)."""
    if not may_decide_extensions(user):
        return ExtensionRequest.objects.none()
    return (
        ExtensionRequest.objects.filter(
            status=ExtensionRequest.Status.PENDING,
            ticket__in=Ticket.objects.filter(ticket_visible_q(user)).values("pk"),
        )
        .select_related("ticket", "ticket__department", "requested_by")
        .order_by("requested_at", "id")
    )


def pending_sign_offs(*, user: Any) -> QuerySet[PublicRecord]:
    """Replies whose public record waits for a reviewer (the sign-off before a reply is
    published), in the user's departments, oldest reply first (none for other roles)."""
    if not may_sign_off_replies(user):
        return PublicRecord.objects.none()
    return publication.public_records_for_review(user=user)


def approvals_count(*, user: Any) -> int | None:
    """What waits for the user's decision (None: the user approves nothing)."""
    decides, signs = may_decide_extensions(user), may_sign_off_replies(user)
    if not (decides or signs):
        return None
    extensions = pending_extensions(user=user).count() if decides else 0
    return extensions + (pending_sign_offs(user=user).count() if signs else 0)
