"""What the media download (``integrations.media``) records on a channel attachment.

Channel media arrive as a media id or a URL and are ``pending`` until the outbox worker has
downloaded them. The worker stores the file first (outside any transaction), then one of these
services records the outcome on the row and on the ticket's timeline, whose live update tells
an open ticket page. Neither changes the ticket itself (no version bump): a handler writing a
reply is never interrupted by a photo arriving.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tickets.models import Attachment
from tickets.services.events import SYSTEM, event_append

ERROR_LENGTH = 300


def attachment_downloaded(
    *, attachment_id: int, file_name: str, name: str, content_type: str, size: int
) -> bool:
    """Point a pending attachment at its downloaded file (``file_name`` in the default
    storage). Returns False, changing nothing, when the row is gone or already has a file
    (the caller then removes its copy)."""
    with transaction.atomic():
        row = (
            Attachment.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .filter(pk=attachment_id)
            .first()
        )
        if row is None or row.file:
            return False
        row.file.name = file_name
        row.name = name[:200]
        row.content_type = content_type[:100]
        row.size = size
        row.download = Attachment.Download.DOWNLOADED
        row.download_error = ""
        row.downloaded_at = timezone.now()
        row.save(
            update_fields=[
                "file",
                "name",
                "content_type",
                "size",
                "download",
                "download_error",
                "downloaded_at",
            ]
        )
        if row.ticket is not None:
            event_append(
                ticket=row.ticket,
                kind="media_downloaded",
                label=SYSTEM,
                from_state=row.ticket.state,
                payload={
                    "attachment": row.pk,
                    "attachment_name": row.name,
                    "content_type": row.content_type,
                    "size": size,
                },
            )
    return True


def attachment_download_failed(*, attachment_id: int, reason: str, final: bool) -> None:
    """Record why a download did not work. ``final``: no more tries (a permanent refusal or
    the last attempt), the row becomes ``failed`` and the timeline says so; otherwise the row
    stays ``pending`` with the reason of the last try."""
    reason = " ".join(reason.split())[:ERROR_LENGTH]
    with transaction.atomic():
        row = (
            Attachment.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .filter(pk=attachment_id)
            .first()
        )
        if row is None or row.file or row.download != Attachment.Download.PENDING:
            return
        row.download_error = reason
        if not final:
            row.save(update_fields=["download_error"])
            return
        row.download = Attachment.Download.FAILED
        row.save(update_fields=["download", "download_error"])
        if row.ticket is not None:
            event_append(
                ticket=row.ticket,
                kind="media_failed",
                label=SYSTEM,
                from_state=row.ticket.state,
                payload={"attachment": row.pk, "attachment_name": row.name, "error": reason},
            )
