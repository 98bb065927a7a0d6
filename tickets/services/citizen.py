"""What citizens do on their own case: files they uploaded with the form, information they add
when asked (待补充), and what the outbox tells us when a notice could not reach them.

Attachments are stored privately in the default storage (``var/private-media`` in the embedded
default), under a random name: the name the citizen gave is kept only as a label.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from tickets.errors import InvalidInput, TicketNotFound, TransitionNotAllowed
from tickets.models import Attachment, State, Ticket
from tickets.models.ticket import new_query_code, query_code_is_plain, query_code_normalise
from tickets.services.events import SYSTEM, event_append
from tickets.services.workflow import ticket_resume

logger = logging.getLogger(__name__)

# ``IncomingAttachment.media_id`` of a file the website stored before intake (see
# ``integrations.website``): intake creates the row, ``ticket_uploads_bind`` points it at the file.
UPLOAD_PREFIX = "upload:"
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
ADD_INFO_MAX = 4000


@dataclass(frozen=True)
class CitizenFile:
    """A file a citizen uploaded, already checked by content (type) and size."""

    name: str
    content_type: str
    file: Any  # a django File (UploadedFile): read in chunks when stored
    size: int


def attachment_store(*, upload: CitizenFile) -> str:
    """Save one upload under a random private name; returns the storage name."""
    day = timezone.localdate()
    extension = EXTENSIONS.get(upload.content_type, "")
    name = f"attachments/{day:%Y/%m}/{uuid.uuid4().hex}{extension}"
    if hasattr(upload.file, "seek"):
        upload.file.seek(0)
    return str(default_storage.save(name, upload.file))


def attachments_discard(names: Sequence[str]) -> None:
    """Remove stored files that never made it into a case (a refused or failed submission)."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # pragma: no cover - a leftover file is harmless
            logger.warning("could not remove unused upload %s", name)


def ticket_uploads_bind(*, ticket_id: int) -> int:
    """Point the attachment rows intake made for website uploads at their stored files.

    Idempotent: rows already bound are left alone. Returns how many rows were bound."""
    bound = 0
    rows = Attachment.objects.filter(
        ticket_id=ticket_id, file="", media_id__startswith=UPLOAD_PREFIX
    )
    for row in rows:
        name = row.media_id[len(UPLOAD_PREFIX) :]
        if not default_storage.exists(name):
            logger.warning("attachment %s: stored upload %s is missing", row.pk, name)
            continue
        row.file.name = name
        row.size = default_storage.size(name)
        row.media_id = ""
        row.save(update_fields=["file", "size", "media_id"])
        bound += 1
    return bound


def ticket_for_citizen(*, case_no: str, query_code: str) -> Ticket | None:
    """The ticket with this case number and query code, or None (the same for either wrong)."""
    case_no, query_code = (case_no or "").strip(), (query_code or "").strip()
    if not case_no or not query_code:
        return None
    ticket = (
        Ticket.objects.select_related("category", "department", "citizen")
        .filter(case_no=case_no)
        .first()
    )
    # Compare the code in constant time, and compare something even when there is no ticket.
    expected = ticket.query_code if ticket is not None else new_query_code()
    if query_code_is_plain(expected):
        # Typed from a note or heard on the phone: "abcd efgh-jkmn" is ABCDEFGHJKMN.
        query_code = query_code_normalise(query_code)
    if not secrets.compare_digest(expected.encode(), query_code.encode()):
        return None
    return ticket


def ticket_citizen_add_info(
    *, ticket_id: int, text: str, attachments: Sequence[CitizenFile] = ()
) -> Ticket:
    """补充材料: the citizen answers a request for information; the ticket resumes.

    Writes a ``citizen_message`` event with the text and the stored attachments, then resumes
    the ticket (the deadline moves by the working days lost while it waited)."""
    text = (text or "").strip()
    if not text and not attachments:
        raise InvalidInput("请填写补充内容或上传附件。", field="text")
    if len(text) > ADD_INFO_MAX:
        raise InvalidInput(f"补充内容不能超过 {ADD_INFO_MAX} 个字。", field="text")
    stored: list[str] = []
    try:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
            if ticket is None:
                raise TicketNotFound()
            if ticket.state != State.WAITING_CITIZEN:
                raise TransitionNotAllowed(
                    f"诉求 {ticket.case_no} 当前状态为「{State(ticket.state).label}」，"
                    "目前不需要补充材料。",
                    action="resume",
                    state=ticket.state,
                )
            rows = []
            for upload in attachments:
                name = attachment_store(upload=upload)
                stored.append(name)
                rows.append(
                    Attachment(
                        ticket=ticket,
                        file=name,
                        name=upload.name[:200],
                        content_type=upload.content_type[:100],
                        size=upload.size,
                    )
                )
            created = Attachment.objects.bulk_create(rows)
            event_append(
                ticket=ticket,
                kind="citizen_message",
                label="市民",
                payload={
                    "text": text,
                    "attachments": [row.pk for row in created if row.pk is not None],
                    "channel": "website",
                },
            )
            ticket = ticket_resume(actor=None, ticket_id=ticket.pk, note="市民已补充材料")
    except Exception:
        attachments_discard(stored)
        raise
    return ticket


def ticket_notice_undeliverable(
    *, ticket_id: int, notice_kind: str, status: str, reasons: Sequence[str]
) -> None:
    """Put on the ticket's timeline that a notice never reached the citizen, so the handler
    sees it and can call them."""
    with transaction.atomic():
        ticket = Ticket.objects.filter(pk=ticket_id).first()
        if ticket is None:
            return
        event_append(
            ticket=ticket,
            kind="notice_undeliverable",
            label=SYSTEM,
            payload={
                "notice": notice_kind,
                "status": status,
                "reasons": [reason[:300] for reason in reasons][:10],
            },
        )
