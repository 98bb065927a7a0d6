"""The media-download job: outbox rows of kind ``media_download``, one per channel attachment.

Intake records a WeChat image/voice/video, a Weibo image or voice, a 12345 attachment or an
Open311 ``media_url`` as a ``pending`` Attachment; the event hook (``integrations.media.queue``)
writes this row in the same transaction. The outbox worker, in a pass of its own
(``media_process``, the ``media-download`` job of ``config.jobs``), hands each row to the
fetcher its channel's spec names (``ChannelSpec.media``): WeChat's ``media/get`` with the
account's access token, Weibo's ``mss/msget``, a signed GET on the 12345 platform, the guarded
URL download (``url_fetch``) for Open311. The file goes to the
default (private) storage under a random name, like website uploads, and only then is the row
pointed at it (``tickets.services.attachments``).

A temporary failure (network, timeout, 5xx, a rate limit) is retried with the outbox's backoff
and its reason shown on the ticket page; a permanent one (an expired WeChat media id, a refused
address, a wrong type, a file over the cap, a decompression bomb), or the last attempt, leaves
the attachment ``failed`` with the reason, on the ticket page and its timeline.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from integrations.media.fetch import Fetched, Limits, http_fetch
from integrations.media.sniff import EXTENSIONS, kind_of_hint
from integrations.models import OutboxMessage
from integrations.outbound.base import DeliveryError
from integrations.outbound.processor import (
    MAX_ATTEMPTS,
    OutboxReport,
    Result,
    outbox_process,
    register_outbox_handler,
)
from integrations.registry import channel_spec_or_none
from tickets.models import Attachment
from tickets.services.attachments import attachment_download_failed, attachment_downloaded

logger = logging.getLogger(__name__)

KIND = "media_download"
# A pass downloads at most this many files and claims no new one after this long, so the
# embedded mode's single jobs thread is never held for long.
BATCH = 20
BUDGET_SECONDS = 30.0

# fetcher(account, attachment, limits) -> the downloaded file; raises DeliveryError
MediaFetcher = Callable[[Any, Attachment, Limits], Fetched]


def media_fetcher(channel: str) -> MediaFetcher:
    """How a channel's media are downloaded: its spec's fetcher, else the guarded URL."""
    spec = channel_spec_or_none(channel)
    return spec.media if spec is not None and spec.media is not None else url_fetch


def expected_kind(attachment: Attachment) -> str:
    return kind_of_hint(attachment.content_type)


def url_fetch(account: Any, attachment: Attachment, limits: Limits) -> Fetched:
    """The attachment's own URL, guarded (for channels without a fetcher of their own)."""
    if not attachment.source_url:
        raise DeliveryError("没有可下载的地址", permanent=True)
    fetched = http_fetch(attachment.source_url, limits=limits, expect=expected_kind(attachment))
    fetched.via = "media:url"
    return fetched


def media_store(fetched: Fetched) -> str:
    """Save under a random private name (as website uploads are); returns the storage name."""
    day = timezone.localdate()
    extension = _extension(fetched.content_type)
    name = f"attachments/{day:%Y/%m}/{uuid.uuid4().hex}{extension}"
    return str(default_storage.save(name, File(fetched.file)))


def _extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "")


def display_name(attachment: Attachment, fetched: Fetched) -> str:
    """The channel's label (``图片``, a 12345 file name), with the real type's extension."""
    name = (attachment.name or fetched.filename or f"附件{attachment.pk}").strip()
    extension = _extension(fetched.content_type)
    if extension and "." not in name.rsplit("/", 1)[-1]:
        name += extension
    return name[:200]


def media_download_handle(row: OutboxMessage) -> Result:
    """The outbox worker's handler for ``media_download`` rows."""
    attachment = Attachment.objects.filter(pk=row.payload.get("attachment_id")).first()
    if attachment is None:
        return Result("failed", error="附件已不存在")
    if attachment.file:
        return Result("sent", via="media:stored")
    if attachment.download != Attachment.Download.PENDING:
        return Result("failed", error=attachment.download_error or "附件不在待下载状态")
    fetcher = media_fetcher(row.channel)
    try:
        try:
            fetched = fetcher(row.account, attachment, Limits.from_settings())
        except DeliveryError:
            raise
        except Exception as exc:  # a bug in a fetcher: counted as a try, retried
            logger.exception("media %s (%s): the fetcher failed", attachment.pk, row.channel)
            raise DeliveryError(f"下载出错（{type(exc).__name__}）") from exc
    except DeliveryError as exc:
        final = exc.permanent or row.attempts >= MAX_ATTEMPTS
        attachment_download_failed(attachment_id=attachment.pk, reason=str(exc), final=final)
        return Result("failed" if exc.permanent else "retry", error=str(exc))
    try:
        stored = media_store(fetched)
        try:
            done = attachment_downloaded(
                attachment_id=attachment.pk,
                file_name=stored,
                name=display_name(attachment, fetched),
                content_type=fetched.content_type,
                size=fetched.size,
            )
        except BaseException:
            default_storage.delete(stored)
            raise
        if not done:
            default_storage.delete(stored)
    finally:
        fetched.close()
    return Result("sent", via=(fetched.via or f"media:{row.channel}")[:32])


def media_process() -> OutboxReport:
    """One pass of the media-download job (``config.jobs``): the due ``media_download`` rows."""
    return outbox_process(kinds={KIND}, limit=BATCH, budget_seconds=BUDGET_SECONDS)


register_outbox_handler(KIND, media_download_handle, own_pass=True)
