"""Channel media on the ticket page: each attachment's state (待下载 / 已下载 with a link and a
preview / 下载失败 with the reason), and the timeline lines the download job writes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.base import ContentFile

from integrations.media.download import media_process
from integrations.models import OutboxMessage
from tests.integrations.media_server import (
    Answer,
    MediaServer,
    fixture_bytes,
    media_server,
    media_settings,
)
from tickets import services
from tickets.errors import TransitionNotAllowed
from tickets.models import Attachment, Ticket
from tickets.services import IncomingAttachment

__all__ = ["media_server", "media_settings"]  # fixtures

pytestmark = pytest.mark.django_db


def page(client: Any, ticket: Ticket) -> str:
    response = client.get(f"/inbox/tickets/{ticket.case_no}/")
    assert response.status_code == 200
    return str(response.content.decode())


def item(body: str, attachment: Attachment) -> str:
    match = re.search(
        rf'<li class="attachment[^"]*" data-attachment="{attachment.pk}".*?</li>', body, re.S
    )
    assert match, f"attachment {attachment.pk} not on the page"
    return match.group(0)


@pytest.fixture
def hotline_case(
    make_ticket: Any, media_server: MediaServer, media_settings: Any, categories: Any
) -> Ticket:
    media_server.file("/f/photo.jpg", "photo.jpg", "image/jpeg")
    media_server.file("/f/call", "recording.mp3", "audio/mpeg")
    media_server.file("/f/voice", "voice.amr", "audio/amr")
    media_server.serve("/f/page", Answer(body=b"<html>login</html>", content_type="text/html"))
    media_server.serve("/f/busy", Answer(status=503, body=b"busy", content_type="text/plain"))
    return make_ticket(
        "工业路铁路桥下每逢下雨积水深达半米，附现场照片和来电录音。",
        channel="hotline",
        category_code="lights",
        acknowledged=True,
        attachments=[
            IncomingAttachment(name="现场照片.jpg", url=media_server.url("/f/photo.jpg")),
            IncomingAttachment(name="来电录音", url=media_server.url("/f/call")),
            IncomingAttachment(name="语音留言", url=media_server.url("/f/voice")),
            IncomingAttachment(name="说明.pdf", url=media_server.url("/f/page")),
            IncomingAttachment(name="补充照片.jpg", url=media_server.url("/f/busy")),
        ],
    )


def test_it_shows_each_attachment_as_pending_until_downloaded(
    client_for: Any, hotline_case: Ticket
) -> None:
    body = page(client_for("dispatcher"), hotline_case)
    for attachment in hotline_case.attachments.all():
        line = item(body, attachment)
        assert "待下载" in line and 'data-state="pending"' in line
        assert "/attachments/" not in line  # nothing to link to yet


def test_it_shows_downloaded_previews_and_failures_with_their_reason(
    client_for: Any, hotline_case: Ticket
) -> None:
    media_process()
    by_name = {row.name: row for row in hotline_case.attachments.all()}
    body = page(client_for("dispatcher"), hotline_case)

    photo = item(body, by_name["现场照片.jpg"])
    assert "已下载" in photo and f'<img src="/attachments/{by_name["现场照片.jpg"].pk}/"' in photo
    call = item(body, by_name["来电录音.mp3"])
    assert (
        "已下载" in call
        and "<audio" in call
        and f'href="/attachments/{by_name["来电录音.mp3"].pk}/"' in call
    )
    voice = item(body, by_name["语音留言.amr"])  # a browser cannot play AMR: a link only
    assert "已下载" in voice and "<audio" not in voice and "/attachments/" in voice
    refused = item(body, by_name["说明.pdf"])
    assert "下载失败" in refused and "网页" in refused
    waiting = item(body, by_name["补充照片.jpg"])
    assert "待下载" in waiting and "HTTP 503" in waiting and "自动重试" in waiting
    assert "附件已下载" in body and "附件下载失败" in body  # the timeline

    response = client_for("dispatcher").get(f"/attachments/{by_name['现场照片.jpg'].pk}/")
    assert b"".join(response.streaming_content) == fixture_bytes("photo.jpg")


def test_it_keeps_showing_website_uploads_as_before(
    client_for: Any, make_ticket: Any, media_settings: Any
) -> None:
    ticket = make_ticket()
    upload = Attachment(ticket=ticket, name="井盖.jpg", content_type="image/jpeg", size=2048)
    upload.file.save("jinggai.jpg", ContentFile(fixture_bytes("photo.jpg")), save=True)
    line = item(page(client_for("dispatcher"), ticket), upload)
    assert f'href="/attachments/{upload.pk}/"' in line and "<img" in line
    assert "已下载" not in line and "待下载" not in line


def test_a_download_never_interrupts_a_handler_at_work(
    cast: dict[str, Any],
    departments: dict[str, Any],
    hotline_case: Ticket,
    media_server: MediaServer,
) -> None:
    seen_version = hotline_case.version
    media_process()  # downloads and failures land on the timeline while the page is open
    hotline_case.refresh_from_db()
    assert hotline_case.version == seen_version
    services.ticket_assign(
        actor=cast["dispatcher"],
        ticket_id=hotline_case.pk,
        department_id=departments["a"].pk,
        expected_version=seen_version,
    )
    # The busy platform answers at last: a download lands after the assignment...
    media_server.file("/f/busy", "photo.jpg", "image/jpeg")
    OutboxMessage.objects.filter(kind="media_download", status="pending").update(
        next_attempt_at=None
    )
    assert media_process().handled == {"sent:hotline:url": 1}
    assert hotline_case.events.order_by("-id").first().kind == "media_downloaded"
    # ...and does not hide, from someone acting on a stale page, what really changed.
    with pytest.raises(TransitionNotAllowed) as stale:
        services.ticket_assign(
            actor=cast["dispatcher"],
            ticket_id=hotline_case.pk,
            department_id=departments["b"].pk,
            expected_version=seen_version,
        )
    assert "派单" in stale.value.message and "media" not in stale.value.message
