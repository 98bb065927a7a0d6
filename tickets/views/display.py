"""How a ticket looks in the inbox: its next deadline and timeline lines (a channel's badge
is its ``ChannelSpec``'s, in ``tickets.channels``).

Pure functions of a ticket and its events (no queries), so a page of rows costs one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tickets.models import State, Ticket, TicketEvent
from tickets.permissions import ACTIONS

EVENT_LABELS = {
    **ACTIONS,
    "created": "收到诉求",
    "citizen_message": "市民补充",
    "sla_warning": "时限预警",
    "sla_breach": "超时",
    "sla_reminder": "催办",
    "extension_approved": "批准延期",
    "extension_rejected": "驳回延期",
    "deadline_recomputed": "时限重算",
    "feedback": "市民评价",
    "replay_suspected": "疑似重放",
    "media_downloaded": "附件已下载",
    "media_failed": "附件下载失败",
    "lead_of": "关联工单到本案",
    "lead_of_removed": "取消关联工单",
}
# Payload keys shown on the timeline, in this order, with their Chinese names.
PAYLOAD_LABELS = {
    "text": "内容",
    "reason": "理由",
    "question": "补充内容",
    "note": "意见",
    "department": "部门",
    "from_department": "原部门",
    "assignee": "承办人",
    "into": "合并到",
    "lead": "主案",
    "case": "关联工单",
    "days": "延期工作日",
    "clock": "时限",
    "attachment_name": "附件",
    "error": "原因",
}
CLOCK_NAMES = {"ack": "受理", "resolve": "办结"}


@dataclass(frozen=True)
class Deadline:
    """The clock a row counts down to: which one, when, and how urgent it looks."""

    label: str
    due_at: dt.datetime | None
    level: str  # "ok", "warned", "breached", "paused", "stopped"

    @property
    def iso(self) -> str:
        return timezone.localtime(self.due_at).isoformat() if self.due_at else ""


# The ticket fields its next deadline is worked out from.
DEADLINE_FIELDS = (
    "state",
    "ack_due_at",
    "ack_warned",
    "ack_breached",
    "resolve_due_at",
    "resolve_warned",
    "resolve_breached",
)


def next_deadline(ticket: Ticket, now: dt.datetime | None = None) -> Deadline:
    return deadline_of({name: getattr(ticket, name) for name in DEADLINE_FIELDS}, now)


def deadline_of(fields: Mapping[str, Any], now: dt.datetime | None = None) -> Deadline:
    """``next_deadline`` from a ticket's ``DEADLINE_FIELDS`` (e.g. a ``values()`` row)."""
    now = now or timezone.now()
    state = fields["state"]
    if state == State.NEW:
        due = fields["ack_due_at"]
        if fields["ack_breached"] or due < now:
            return Deadline("受理", due, "breached")
        return Deadline("受理", due, "warned" if fields["ack_warned"] else "ok")
    if state in (State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS):
        due = fields["resolve_due_at"]
        if fields["resolve_breached"] or due < now:
            return Deadline("办结", due, "breached")
        return Deadline("办结", due, "warned" if fields["resolve_warned"] else "ok")
    if state == State.WAITING_CITIZEN:
        return Deadline("办结", fields["resolve_due_at"], "paused")
    return Deadline("", None, "stopped")


def event_label(event: TicketEvent) -> str:
    return EVENT_LABELS.get(event.kind, event.kind)


def event_details(event: TicketEvent) -> list[tuple[str, str]]:
    """The payload parts a person reads, as (label, text) pairs."""
    payload: dict[str, Any] = event.payload or {}
    details = []
    for key, label in PAYLOAD_LABELS.items():
        value = payload.get(key)
        if value in (None, "", []):
            continue
        if key == "clock":
            value = CLOCK_NAMES.get(str(value), value)
        details.append((label, str(value)))
    if "approved" in payload and event.kind.startswith("extension_"):
        details.append(("结果", "批准" if payload["approved"] else "驳回"))
    return details


def _parse(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class DeadlineChange:
    at: dt.datetime
    label: str
    actor: str
    before: dt.datetime | None
    after: dt.datetime | None


def deadline_history(events: list[TicketEvent]) -> list[DeadlineChange]:
    """Every event that set or moved the resolution deadline: intake, pauses, extensions,
    reclassification, reopening and calendar recomputation."""
    changes = []
    for event in events:
        payload: dict[str, Any] = event.payload or {}
        before = _parse(payload.get("resolve_due_before"))
        after = _parse(payload.get("resolve_due_after"))
        if event.kind == "created":
            after = _parse(payload.get("resolve_due_at"))
        elif event.kind == "classify":
            before = _parse((payload.get("before") or {}).get("resolve_due_at"))
            after = _parse((payload.get("after") or {}).get("resolve_due_at"))
            if before == after:
                continue
        elif event.kind == "request_extension":
            before = _parse(payload.get("resolve_due_at"))
            after = None
        if after is None and before is None:
            continue
        changes.append(
            DeadlineChange(
                at=event.created_at,
                label=event_label(event),
                actor=event.actor_label,
                before=before,
                after=after,
            )
        )
    return changes


# What the ticket page can show inline (the browser plays these; AMR and SILK voice it cannot).
PREVIEWS = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/aac": "audio",
    "audio/ogg": "audio",
    "audio/wav": "audio",
    "video/mp4": "video",
}


@dataclass(frozen=True)
class AttachmentView:
    """One attachment on the ticket page: its state, link and preview."""

    attachment: Any
    state: str  # stored | pending | failed | missing
    preview: str  # image | audio | video | ""

    @property
    def url(self) -> str:
        return f"/attachments/{self.attachment.pk}/"


def attachment_view(attachment: Any) -> AttachmentView:
    if attachment.file:
        return AttachmentView(attachment, "stored", PREVIEWS.get(attachment.content_type, ""))
    state = {"pending": "pending", "failed": "failed"}.get(attachment.download, "missing")
    return AttachmentView(attachment, state, "")
