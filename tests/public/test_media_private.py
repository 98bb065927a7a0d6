"""Channel media are never published: a downloaded photo of a replied, published case appears
on none of the public pages, the feed, the open-data CSV or Open311, and its file is served
only to staff who may see the ticket."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.media.download import media_process
from tests.conftest import walk
from tests.integrations.media_server import MediaServer, fixture_bytes, media_server, media_settings
from tickets import publication
from tickets.models import Attachment, Ticket
from tickets.models_public import PublicRecord
from tickets.services import IncomingAttachment

__all__ = ["media_server", "media_settings"]  # fixtures

pytestmark = pytest.mark.django_db

NAME = "张家门口照片-勿公开.jpg"
PATH = "/uploads/zhang-door-7f3a.jpg"


@pytest.fixture
def published(
    make_ticket: Any,
    cast: dict,
    departments: dict,
    categories: dict,
    media_server: MediaServer,
    media_settings: Any,
) -> tuple[Ticket, Attachment, PublicRecord]:
    url = media_server.file(PATH, "photo.jpg", "image/jpeg")
    ticket = make_ticket(
        "建设路路灯坏了一个多星期，晚上很黑，照片见附件。",
        channel="open311",
        category_code="lights",
        attachments=[IncomingAttachment(name=NAME, url=url, media_id="MEDIA-7f3a")],
    )
    assert media_process().handled == {"sent:media:url": 1}
    attachment = ticket.attachments.get()
    assert attachment.download == "downloaded"
    ticket = walk(ticket, cast, departments, "replied")
    record = PublicRecord.objects.get(ticket=ticket)
    if record.status != PublicRecord.Status.PUBLISHED:
        record = publication.public_record_review(
            actor=cast["dispatcher"], record_id=record.pk, action="approve"
        )
    return ticket, attachment, record


def secrets_of(attachment: Attachment) -> list[str]:
    return [
        f"/attachments/{attachment.pk}/",
        NAME,
        "zhang-door-7f3a",
        "MEDIA-7f3a",
        attachment.file.name,
        attachment.file.name.rsplit("/", 1)[-1],
    ]


def test_it_never_shows_channel_media_in_public(
    client: Client, published: tuple[Ticket, Attachment, PublicRecord]
) -> None:
    ticket, attachment, record = published
    month = timezone.localdate().strftime("%Y-%m")
    pages = {
        "list": client.get("/public/"),
        "detail": client.get(f"/public/cases/{record.public_id}/"),
        "feed": client.get("/public/feed/"),
        "csv": client.get(f"/public/data/{month}.csv"),
        # Open311 speaks of a case by its public id, as /public/ does.
        "open311 list": client.get(
            "/open311/v2/requests.json", {"service_request_id": record.public_id}
        ),
        "open311 json": client.get(f"/open311/v2/requests/{record.public_id}.json"),
        "open311 xml": client.get(f"/open311/v2/requests/{record.public_id}.xml"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode()
        # The case itself is public (so the test would see a leak)...
        assert record.public_id in body or ticket.case_no in body or "路灯" in body, name
        # ...its photo is not.
        for secret in secrets_of(attachment):
            assert secret not in body, (name, secret)
    (item,) = pages["open311 json"].json()
    assert item.get("media_url", "") == ""
    stored = [
        str(value) for value in PublicRecord.objects.filter(pk=record.pk).values().get().values()
    ]
    assert not any(secret in value for value in stored for secret in secrets_of(attachment))


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_serves_the_file_only_to_staff_who_may_see_the_ticket(
    client: Client, cast: dict, published: tuple[Ticket, Attachment, PublicRecord]
) -> None:
    _ticket, attachment, _record = published
    url = f"/attachments/{attachment.pk}/"
    assert client.get(url).status_code == 404  # the public
    assert signed_in(cast["handler_b"]).get(url).status_code == 404  # another department
    response = signed_in(cast["handler_a"]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == fixture_bytes("photo.jpg")
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert {"private", "no-store"} <= {
        part.strip() for part in response["Cache-Control"].split(",")
    }
    assert response["X-Content-Type-Options"] == "nosniff"
