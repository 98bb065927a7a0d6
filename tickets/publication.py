"""政务公开: the public record of every replied case, and its review.

A reply (the ``reply`` timeline event) creates or refreshes the ticket's ``PublicRecord`` with
redacted text. Records wait for a reviewer unless nothing was masked, nothing in the copy still
looks like a number, an ID or a handle, and auto-publishing is on (``PUBLIC_AUTO_PUBLISH``,
default on). A reviewer sees original and redacted text side by side, may edit the redacted
copy, and approves or withholds it with a reason. Approving a copy in which such a span remains
needs an explicit second confirmation of exactly those spans. The ticket's own text is never
changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tickets.errors import ActionForbidden, ConfirmationRequired, InvalidInput, TicketNotFound
from tickets.models import Reply, Role, Ticket, TicketEvent
from tickets.models_public import PublicRecord
from tickets.redaction import Redacted, Suspect, find_suspects, redact
from tickets.redaction.suspicious import suspects_fingerprint
from tickets.selectors import user_department_ids, user_role
from tickets.services.events import event_append

logger = logging.getLogger(__name__)

TITLE_LENGTH = 30
# The parts of a record the public sees, with their labels and lengths.
PUBLIC_FIELDS = {"title": "标题", "content": "诉求内容", "reply": "答复内容", "address": "地址"}
FIELD_LIMITS = {"title": 200, "address": 300}
REVIEWER_ROLES = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})
Status = PublicRecord.Status


def auto_publish_enabled() -> bool:
    """Auto-publish records in which nothing was masked (``settings.PUBLIC_AUTO_PUBLISH``, read
    from the environment variable of that name, on by default)."""
    return bool(settings.PUBLIC_AUTO_PUBLISH)


def _known_names(ticket: Ticket, reply: Reply | None) -> list[str]:
    """Names we know may appear: the citizen's, and those of the staff who handled the case."""
    names = [ticket.citizen.name if ticket.citizen else ""]
    for user in (ticket.assignee, reply.author if reply else None):
        if user is not None:
            # Chinese names are written family name first, without a space.
            first, last = user.first_name.strip(), user.last_name.strip()
            names += [f"{last}{first}", f"{first}{last}", user.get_full_name()]
    return [name for name in names if name and len(name) >= 2]


def _title(ticket: Ticket, content: Redacted, names: list[str]) -> Redacted:
    # A title cut from the content may end in the middle of a phone number that only the full
    # content shows: take the title from the redacted content instead.
    stem = ticket.title.rstrip("…").strip()
    if stem and ticket.content.strip().startswith(stem):
        first = content.text.strip().splitlines()[0] if content.text.strip() else ""
        title = first[:TITLE_LENGTH] + ("…" if len(first) > TITLE_LENGTH else "")
        return Redacted(original=ticket.title, text=title, masks=())
    return redact(ticket.title, names=names)


def public_copy_suspects(copy: Mapping[str, str]) -> list[tuple[str, Suspect]]:
    """Spans of a public copy (title, content, reply, address) that still look like a number,
    an ID or a handle, with the field each is in."""
    return [
        (field, suspect)
        for field in PUBLIC_FIELDS
        for suspect in find_suspects(copy.get(field) or "")
    ]


def public_record_suspects(record: PublicRecord) -> list[tuple[str, Suspect]]:
    if record.confidential:
        return []
    return public_copy_suspects({field: getattr(record, field) for field in PUBLIC_FIELDS})


def _latest_reply(ticket: Ticket) -> Reply | None:
    return ticket.replies.select_related("author").order_by("-created_at", "-id").first()


def _redacted_copy(ticket: Ticket, reply: Reply | None) -> tuple[dict[str, str], dict[str, int]]:
    """The public copy the rules make of a ticket and its reply, and what they masked."""
    if ticket.confidential:
        # A confidential case publishes only its category, department, dates and status.
        return dict.fromkeys(PUBLIC_FIELDS, ""), {}
    names = _known_names(ticket, reply)
    content = redact(ticket.content, names=names)
    parts = {
        "title": _title(ticket, content, names),
        "content": content,
        "reply": redact(reply.content if reply else "", names=names),
        "address": redact(ticket.address, names=names),
    }
    counts: dict[str, int] = {}
    for part in parts.values():
        for kind, count in part.counts().items():
            counts[kind] = counts.get(kind, 0) + count
    copy = {field: part.text[: FIELD_LIMITS.get(field)] for field, part in parts.items()}
    return copy, counts


def public_record_refresh(*, ticket: Ticket, reply: Reply | None = None) -> PublicRecord:
    """Create or update the ticket's public record from its current text and latest reply."""
    reply = reply or _latest_reply(ticket)
    record = PublicRecord.objects.filter(ticket=ticket).first()
    if record is None:
        # The case's public id, the one Open311 already answered with (older cases: a new one).
        record = PublicRecord(ticket=ticket)
        if ticket.public_id:
            record.public_id = ticket.public_id
    # A record a person has looked at or edited is never auto-published again: its new text
    # (a later reply) waits for a reviewer, who sees what the automatic redaction made of it.
    had_review = record.pk is not None and (record.edited or record.reviewed_at is not None)
    record.confidential = ticket.confidential
    record.category_id = ticket.category_id
    record.department_id = ticket.department_id or (reply.department_id if reply else None)
    record.request_type = ticket.request_type
    record.channel = ticket.channel
    record.received_at = ticket.received_at
    record.replied_at = ticket.first_replied_at or ticket.replied_at or timezone.now()
    record.on_time = ticket.resolved_on_time
    copy, counts = _redacted_copy(ticket, reply)
    for field, value in copy.items():
        setattr(record, field, value)
    record.masks = counts
    record.edited = False
    if record.status != Status.WITHHELD:
        # New text needs a new decision; a withheld case stays withheld until a reviewer acts.
        # A copy that still has a span looking like a number, an ID or a handle waits for a
        # person even when no rule masked anything.
        auto = (
            auto_publish_enabled()
            and not counts
            and not had_review
            and not public_record_suspects(record)
        )
        record.status = Status.PUBLISHED if auto else Status.PENDING
        record.auto_published = auto
        record.published_at = timezone.now() if auto else None
        record.reviewed_by, record.reviewed_at, record.review_note = None, None, ""
    record.save()
    return record


def on_ticket_event(event: TicketEvent) -> None:
    """Event hook: every reply refreshes the public record, in the reply's transaction.

    Publication must never cost a citizen their reply: a failure here is logged and leaves
    the record as it was (a savepoint keeps the reply's transaction usable)."""
    if event.kind != "reply":
        return
    try:
        with transaction.atomic():
            reply = Reply.objects.filter(pk=event.payload.get("reply_id")).first()
            public_record_refresh(ticket=event.ticket, reply=reply)
    except Exception:
        logger.exception("public record for ticket %s was not refreshed", event.ticket_id)


# --- review -------------------------------------------------------------------------------


def _reviewer_scope(user: Any) -> set[int] | None:
    """Departments whose records the user may review (None: all); refuses non-reviewers."""
    role = user_role(user)
    if role not in REVIEWER_ROLES:
        raise TicketNotFound("没有找到该公开记录，或您无权审核。")
    return user_department_ids(user)


def public_records_for_review(*, user: Any, status: str = Status.PENDING) -> QuerySet[PublicRecord]:
    scope = _reviewer_scope(user)
    records = PublicRecord.objects.select_related("ticket", "category", "department")
    if status:
        records = records.filter(status=status)
    if scope is not None:
        records = records.filter(department_id__in=scope)
    return records.order_by("replied_at", "id")


def public_review_pending_count(*, user: Any) -> int | None:
    """How many records wait for this user's review; None for a user who does not review."""
    if user_role(user) not in REVIEWER_ROLES:
        return None
    return public_records_for_review(user=user).count()


def public_record_access(*, user: Any, record_id: int) -> PublicRecord:
    """The record, if the user may review it; otherwise TicketNotFound (a 404)."""
    record = public_records_for_review(user=user, status="").filter(pk=record_id).first()
    if record is None:
        raise TicketNotFound("没有找到该公开记录，或您无权审核。")
    return record


def original_redaction(record: PublicRecord) -> dict[str, Redacted]:
    """The original texts with the masks the rules find, for the side-by-side review."""
    ticket = record.ticket
    reply = _latest_reply(ticket)
    names = _known_names(ticket, reply)
    return {
        "title": redact(ticket.title, names=names),
        "content": redact(ticket.content, names=names),
        "reply": redact(reply.content if reply else "", names=names),
        "address": redact(ticket.address, names=names),
    }


ACTIONS = {"save": "保存修改", "approve": "批准公开", "withhold": "不予公开"}
SUSPECTS_MESSAGE = (
    "公开文本中仍有 {count} 处疑似个人信息（号码、证件号或账号，已用红色标出），未公开。"
    "请逐一核对：是个人信息的，请改为 [电话]、[身份证号] 等遮盖标记；"
    "确认都不是个人信息后，勾选确认再批准公开。"
)


def _confirm_suspects(record: PublicRecord, token: str) -> int:
    """Refuse to approve a copy that still has suspect spans unless ``token`` confirms exactly
    those spans; answers how many were confirmed."""
    found = public_record_suspects(record)
    if not found:
        return 0
    expected = suspects_fingerprint(found)
    if token != expected:
        raise ConfirmationRequired(
            SUSPECTS_MESSAGE.format(count=len(found)),
            token=expected,
            items=[
                {"field": PUBLIC_FIELDS[field], "kind": suspect.label, "text": suspect.text}
                for field, suspect in found
            ],
        )
    return len(found)


def public_record_review(
    *,
    actor: Any,
    record_id: int,
    action: str,
    title: str | None = None,
    content: str | None = None,
    reply: str | None = None,
    address: str | None = None,
    reason: str = "",
    confirm: str = "",
) -> PublicRecord:
    """Edit the redacted copy and/or decide: approve (publish) or withhold (with a reason).

    Approval of a copy that still has spans looking like a number, an ID or a handle raises
    ``ConfirmationRequired`` (nothing written) unless ``confirm`` is the token it gave for
    exactly those spans."""
    if action not in ACTIONS:
        raise InvalidInput("未知的审核操作。", field="action")
    reason = (reason or "").strip()
    if action == "withhold" and not reason:
        raise InvalidInput("不予公开必须填写理由。", field="reason")
    with transaction.atomic():
        record = public_record_access(user=actor, record_id=record_id)
        record = PublicRecord.objects.select_for_update().get(pk=record.pk)
        ticket = Ticket.objects.get(pk=record.ticket_id)
        edits = {"title": title, "content": content, "reply": reply, "address": address}
        if record.confidential and any(value for value in edits.values()):
            raise ActionForbidden("保密件只公开分类、部门、日期和状态，不能填写正文。")
        for field, value in edits.items():
            if value is not None and not record.confidential and value != getattr(record, field):
                setattr(record, field, value.strip()[: FIELD_LIMITS.get(field)])
                record.edited = True
        confirmed = _confirm_suspects(record, confirm) if action == "approve" else 0
        now = timezone.now()
        if action == "approve":
            record.status = Status.PUBLISHED
            record.published_at = now
            record.auto_published = False
        elif action == "withhold":
            record.status = Status.WITHHELD
            record.published_at = None
        if action != "save":
            record.reviewed_by, record.reviewed_at = actor, now
            record.review_note = reason
        record.save()
        event_append(
            ticket=ticket,
            kind="public_review",
            actor=actor,
            payload={
                "action": action,
                "public_id": record.public_id,
                "status": record.status,
                "edited": record.edited,
                "reason": reason,
                # How many suspect spans the reviewer confirmed (never their text).
                "suspects_confirmed": confirmed,
            },
            at=now,
        )
    return record


# --- a second look at what is already public -----------------------------------------------


def public_records_recheck(*, apply: bool = False, reviewed: bool = False) -> dict[str, int]:
    """Look again at published records with today's rules (after the rules improved).

    A record published automatically (no person saw it) whose copy the rules would now make
    differently, or that still has a suspect span, is redacted anew and goes back to review.
    A record a person approved keeps its text; with ``reviewed``, one that still has a suspect
    span goes back to review too. Without ``apply`` nothing is written: the counts say what
    would change."""
    summary = dict.fromkeys(
        ("checked", "automatic_to_review", "automatic_renewed", "approved_with_suspects"), 0
    )
    summary["approved_to_review"] = 0
    records = PublicRecord.objects.filter(status=Status.PUBLISHED, confidential=False)
    for record_id in records.order_by("pk").values_list("pk", flat=True).iterator():
        with transaction.atomic():
            record = (
                PublicRecord.objects.select_for_update().select_related("ticket").get(pk=record_id)
            )
            if record.status != Status.PUBLISHED:
                continue
            summary["checked"] += 1
            suspects = public_record_suspects(record)
            if record.auto_published and not record.edited:
                copy, counts = _redacted_copy(record.ticket, _latest_reply(record.ticket))
                stale = any(copy[field] != getattr(record, field) for field in PUBLIC_FIELDS)
                if not (stale or suspects):
                    continue
                # What public_record_refresh will decide: review, or a better copy published.
                review = bool(counts or public_copy_suspects(copy)) or not auto_publish_enabled()
                summary["automatic_to_review" if review else "automatic_renewed"] += 1
                if apply:
                    record = public_record_refresh(ticket=record.ticket)
                    if record.status == Status.PENDING:
                        _recheck_event(record, suspects=len(public_record_suspects(record)))
                continue
            if not suspects:
                continue
            summary["approved_with_suspects"] += 1
            if reviewed:
                summary["approved_to_review"] += 1
                if apply:
                    record.status, record.published_at = Status.PENDING, None
                    record.save(update_fields=["status", "published_at", "updated_at"])
                    _recheck_event(record, suspects=len(suspects))
    return summary


def _recheck_event(record: PublicRecord, *, suspects: int) -> None:
    event_append(
        ticket=record.ticket,
        kind="public_review",
        label="公开复核",
        payload={
            "action": "recheck",
            "public_id": record.public_id,
            "status": record.status,
            "masks": record.masks,
            "suspects": suspects,
        },
    )
