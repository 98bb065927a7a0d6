"""The media-download job end to end, channel by channel: a real push through each channel's
endpoint records a pending attachment and its outbox row in the intake's transaction; the
job's pass downloads it through the channel's transport from a real HTTP server on
127.0.0.1 (a fake WeChat API, Weibo file API, 12345 platform, Open311 media host) into the
private storage; failures are told apart and shown."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from config import jobs
from integrations.hotline import signing
from integrations.media.download import KIND, media_process
from integrations.models import ChannelAccount, OutboxMessage
from integrations.outbound.processor import MAX_ATTEMPTS, outbox_process
from integrations.wechat import crypto
from integrations.weibo import parser as weibo_parser
from tests.integrations.media_server import (
    Answer,
    MediaServer,
    fixture_bytes,
    media_server,
    media_settings,
)
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.models_public import Open311ApiKey

__all__ = ["media_server", "media_settings"]  # fixtures

pytestmark = pytest.mark.django_db

WX_TOKEN = "wx-media-token"
GH = "gh_5eefeea20bd1"
OPENID = "o3L_tLWEA1l6hZ_zR3yIG6WLIgaC"


def stored_bytes(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.file.name, "rb") as handle:
        return handle.read()


def media_rows() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=KIND).order_by("pk"))


# --- WeChat -------------------------------------------------------------------------------------


@pytest.fixture
def wechat(media_server: MediaServer, media_settings: Any) -> ChannelAccount:
    app_id = f"wx{uuid.uuid4().hex[:16]}"  # its own token cache key in a shared Redis
    media_server.serve(
        "/cgi-bin/token",
        Answer(
            body=json.dumps({"access_token": "TOKEN-1", "expires_in": 7200}).encode(),
            content_type="application/json",
            then=[
                Answer(
                    body=json.dumps({"access_token": "TOKEN-2", "expires_in": 7200}).encode(),
                    content_type="application/json",
                )
            ],
        ),
    )
    account = ChannelAccount.objects.create(
        kind="wechat",
        slug="wx-media",
        config={
            "mode": "plain",
            "app_id": app_id,
            "original_id": GH,
            "api_base": media_server.url(""),
        },
        secrets={"token": WX_TOKEN, "app_secret": "f8592ed5a8f4aec0aeebf2a1fcce302a"},
    )
    yield account
    cache.delete(f"wechat:session:{app_id}_access_token")


def wx_message(msg_type: str, msg_id: str, **fields: str) -> bytes:
    parts = [
        f"<ToUserName><![CDATA[{GH}]]></ToUserName>",
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>",
        f"<CreateTime>{int(time.time())}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
        f"<MsgId>{msg_id}</MsgId>",
    ] + [f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items()]
    return ("<xml>" + "".join(parts) + "</xml>").encode()


def wx_post(client: Client, body: bytes) -> Any:
    ts, nonce = str(int(time.time())), os.urandom(5).hex()
    query = {"signature": crypto.signature(WX_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    response = client.post(
        f"/integrations/wechat/wx-media/?{urlencode(query)}", body, content_type="text/xml"
    )
    assert response.status_code == 200, response.content
    return response


def test_it_downloads_a_wechat_photo_through_media_get(
    client: Client, wechat: ChannelAccount, media_server: MediaServer
) -> None:
    media_server.file("/cgi-bin/media/get", "photo.jpg", "image/jpeg")
    wx_post(client, wx_message("text", "1001", Content="建设路路灯坏了一个多星期"))
    wx_post(
        client,
        wx_message("image", "1002", MediaId="MEDIA-PHOTO", PicUrl=media_server.url("/cdn/none")),
    )
    ticket = Ticket.objects.get()
    attachment = ticket.attachments.get()
    # Written with the intake, nothing fetched yet.
    assert attachment.download == "pending" and not attachment.file
    (row,) = media_rows()
    assert (
        row.ticket == ticket
        and row.account == wechat
        and row.payload == {"attachment_id": attachment.pk}
    )
    assert media_server.seen == []
    # The ordinary outbox pass leaves media to their own job.
    outbox_process()
    assert media_server.requests_to("/cgi-bin/media/get") == []

    report = media_process()

    assert report.handled == {"sent:wechat:media": 1}
    (call,) = media_server.requests_to("/cgi-bin/media/get")
    assert call.query == {"access_token": ["TOKEN-1"], "media_id": ["MEDIA-PHOTO"]}
    attachment.refresh_from_db()
    assert attachment.download == "downloaded" and attachment.downloaded_at is not None
    assert attachment.content_type == "image/jpeg" and attachment.name == "图片.jpg"
    assert attachment.size == len(fixture_bytes("photo.jpg"))
    assert stored_bytes(attachment) == fixture_bytes("photo.jpg")
    assert attachment.file.name.startswith("attachments/") and "MEDIA" not in attachment.file.name
    event = TicketEvent.objects.get(ticket=ticket, kind="media_downloaded")
    assert event.payload["attachment"] == attachment.pk
    row.refresh_from_db()
    assert row.status == "sent" and row.via == "wechat:media"
    # Done once: another pass has nothing to do.
    assert media_process().handled == {}


def test_it_marks_an_expired_wechat_media_id_failed_at_once(
    client: Client, wechat: ChannelAccount, media_server: MediaServer
) -> None:
    media_server.serve(
        "/cgi-bin/media/get",
        Answer(body=b'{"errcode":40007,"errmsg":"invalid media_id"}', content_type="text/plain"),
    )
    wx_post(
        client,
        wx_message(
            "voice", "2001", MediaId="OLD-VOICE", Format="amr", Recognition="楼下工地半夜施工"
        ),
    )
    ticket = Ticket.objects.get()

    media_process()

    attachment = ticket.attachments.get()
    assert attachment.download == "failed"
    assert "40007" in attachment.download_error and "3 天" in attachment.download_error
    (row,) = media_rows()
    assert row.status == "failed" and row.attempts == 1
    assert TicketEvent.objects.get(ticket=ticket, kind="media_failed").payload["error"] == (
        attachment.download_error
    )


def test_it_fetches_a_new_wechat_token_once_when_the_old_one_expired(
    client: Client, wechat: ChannelAccount, media_server: MediaServer
) -> None:
    media_server.serve(
        "/cgi-bin/media/get",
        Answer(
            body=b'{"errcode":42001,"errmsg":"access_token expired"}',
            content_type="application/json",
            then=[Answer(body=fixture_bytes("voice.amr"), content_type="audio/amr")],
        ),
    )
    wx_post(
        client,
        wx_message(
            "voice", "3001", MediaId="VOICE", Format="amr", Recognition="小区门口垃圾没人清"
        ),
    )

    media_process()

    attachment = Ticket.objects.get().attachments.get()
    assert attachment.download == "downloaded" and attachment.content_type == "audio/amr"
    assert attachment.name == "语音.amr" and stored_bytes(attachment) == fixture_bytes("voice.amr")
    tokens = [
        seen.query["access_token"][0] for seen in media_server.requests_to("/cgi-bin/media/get")
    ]
    assert tokens == ["TOKEN-1", "TOKEN-2"]


def test_it_follows_wechats_video_url_and_checks_it_is_a_video(
    client: Client, wechat: ChannelAccount, media_server: MediaServer
) -> None:
    media_server.file("/cdn/video.mp4", "video.mp4", "video/mp4")
    media_server.serve(
        "/cgi-bin/media/get",
        Answer(
            body=json.dumps({"video_url": media_server.url("/cdn/video.mp4")}).encode(),
            content_type="application/json",
        ),
    )
    wx_post(client, wx_message("text", "4001", Content="道路塌陷了，请看视频"))
    wx_post(client, wx_message("video", "4002", MediaId="VIDEO", ThumbMediaId="THUMB"))

    assert media_process().handled == {"sent:wechat:video": 1}

    attachment = Ticket.objects.get().attachments.get()
    assert attachment.content_type == "video/mp4" and attachment.name == "视频.mp4"
    assert stored_bytes(attachment) == fixture_bytes("video.mp4")


def test_it_falls_back_to_the_picurl_without_api_credentials(
    client: Client, wechat: ChannelAccount, media_server: MediaServer
) -> None:
    ChannelAccount.objects.filter(pk=wechat.pk).update(secrets={"token": WX_TOKEN})
    media_server.file("/mmbiz/photo", "photo.jpg", "image/jpeg")
    wx_post(client, wx_message("text", "5001", Content="公园长椅坏了"))
    wx_post(
        client, wx_message("image", "5002", MediaId="M", PicUrl=media_server.url("/mmbiz/photo"))
    )

    assert media_process().handled == {"sent:wechat:picurl": 1}
    assert media_server.requests_to("/cgi-bin/media/get") == []
    assert Ticket.objects.get().attachments.get().download == "downloaded"


# --- Weibo --------------------------------------------------------------------------------------

WEIBO_SECRET = "6b8aaad8683a67b7eca1daea76f6d909"
OUR_UID = 7208841469


@pytest.fixture
def weibo(media_server: MediaServer, media_settings: Any) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind="weibo",
        slug="weibo-media",
        config={"uid": str(OUR_UID), "media_url": media_server.url("/2/mss/msget")},
        secrets={"app_secret": WEIBO_SECRET, "access_token": "WEIBO-TOKEN"},
    )


def weibo_post(client: Client, kind: str, text: str, data: dict[str, Any], second: int) -> None:
    at = dt.datetime(2026, 5, 12, 12, 40, second, tzinfo=dt.UTC)
    body = {
        "type": kind,
        "receiver_id": OUR_UID,
        "sender_id": 2132273433,
        "created_at": f"Tue May 12 20:40:{second:02d} +0800 2026",
        "text": text,
        "data": data,
    }
    timestamp, nonce = str(int(at.timestamp() * 1000)), uuid.uuid4().hex[:12]
    signature = weibo_parser.signature_compute(
        app_secret=WEIBO_SECRET, timestamp=timestamp, nonce=nonce
    )
    query = urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
    with time_machine.travel(at, tick=False):
        response = client.post(
            f"/integrations/weibo/weibo-media/?{query}",
            data=json.dumps(body, ensure_ascii=False).encode(),
            content_type="application/json",
        )
    assert response.status_code == 200, response.content


def test_it_downloads_a_weibo_private_message_image_by_its_file_id(
    client: Client, weibo: ChannelAccount, media_server: MediaServer
) -> None:
    media_server.file("/2/mss/msget", "photo.jpg", "image/jpeg")
    weibo_post(client, "text", "长江路夜市油烟扰民，晚上十二点还很吵。", {}, 1)
    weibo_post(client, "image", "", {"vfid": 821804459, "tovfid": 821804460}, 2)

    assert media_process().handled == {"sent:weibo:msget": 1}

    (call,) = media_server.requests_to("/2/mss/msget")
    assert call.query == {"fid": ["821804459"], "access_token": ["WEIBO-TOKEN"]}
    attachment = Ticket.objects.get().attachments.get()
    assert attachment.name == "微博图片.jpg" and stored_bytes(attachment) == fixture_bytes(
        "photo.jpg"
    )


def test_it_retries_a_weibo_rate_limit_and_shows_why_it_waits(
    client: Client, weibo: ChannelAccount, media_server: MediaServer
) -> None:
    media_server.serve(
        "/2/mss/msget",
        Answer(
            status=403,
            body=b'{"error_code":10023,"error":"User requests out of rate limit!"}',
            content_type="application/json",
        ),
    )
    weibo_post(client, "text", "长江路夜市油烟扰民，晚上十二点还很吵。", {}, 1)
    weibo_post(client, "voice", "", {"vfid": 5550001}, 2)

    assert media_process().handled == {"retry": 1}

    attachment = Ticket.objects.get().attachments.get()
    assert attachment.download == "pending" and "10023" in attachment.download_error
    (row,) = media_rows()
    assert row.status == "pending" and row.next_attempt_at > timezone.now()


# --- 12345 ------------------------------------------------------------------------------------

HOTLINE_SECRET = "media-test-secret-0123456789"


@pytest.fixture
def hotline(media_server: MediaServer, media_settings: Any) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind="hotline",
        slug="qs-12345-media",
        config={"callback_base": media_server.url("/platform")},
        secrets={"secret": HOTLINE_SECRET},
    )


def hotline_dispatch(client: Client, attachments: list[dict[str, str]]) -> Ticket:
    body = json.dumps(
        {
            "event": "dispatch",
            "order_no": f"QS{uuid.uuid4().hex[:12]}",
            "version": 1,
            "accepted_at": "2026-05-12 09:41:27",
            "caller_phone": "15812872383",
            "request_type": "complaint",
            "title": "铁路桥下雨后积水严重",
            "content": "来电人反映：工业路铁路桥下每逢下雨积水深达半米。",
            "attachments": attachments,
        },
        ensure_ascii=False,
    ).encode()
    response = client.post(
        "/integrations/hotline/qs-12345-media/orders",
        data=body,
        content_type="application/json",
        headers=signing.signed_headers(HOTLINE_SECRET, body, now=time.time()),
    )
    assert response.status_code == 200, response.content
    return Ticket.objects.get(case_no=response.json()["case_no"])


def test_it_downloads_12345_attachments_with_signed_requests(
    client: Client, hotline: ChannelAccount, media_server: MediaServer
) -> None:
    photo = media_server.file("/platform/files/1.jpg", "photo.jpg", "image/jpeg")
    recording = media_server.file("/platform/files/2", "recording.mp3", "application/octet-stream")
    gone = media_server.url("/platform/files/expired")
    ticket = hotline_dispatch(
        client,
        [
            {"name": "现场照片.jpg", "url": photo},
            {"name": "来电录音", "url": recording},
            {"name": "过期附件.pdf", "url": gone},
        ],
    )
    assert len(media_rows()) == 3

    report = media_process()

    assert report.handled == {"sent:hotline:signed": 2, "failed": 1}
    for path in ("/platform/files/1.jpg", "/platform/files/2"):
        (seen,) = media_server.requests_to(path)
        assert signing.signature_valid(
            HOTLINE_SECRET,
            seen.headers["X-Hotline-Timestamp"],
            seen.headers["X-Hotline-Nonce"],
            b"",
            seen.headers["X-Hotline-Signature"],
        )
    by_name = {item.name: item for item in ticket.attachments.all()}
    assert by_name["现场照片.jpg"].content_type == "image/jpeg"
    assert by_name["来电录音.mp3"].content_type == "audio/mpeg"
    assert stored_bytes(by_name["来电录音.mp3"]) == fixture_bytes("recording.mp3")
    assert by_name["过期附件.pdf"].download == "failed"
    assert "HTTP 404" in by_name["过期附件.pdf"].download_error


def test_it_refuses_a_12345_url_on_a_private_address(
    client: Client, hotline: ChannelAccount, media_server: MediaServer, media_settings: Any
) -> None:
    media_settings.MEDIA_DOWNLOAD = {**media_settings.MEDIA_DOWNLOAD, "ALLOW_NETWORKS": []}
    media_server.file("/platform/files/1.jpg", "photo.jpg", "image/jpeg")
    ticket = hotline_dispatch(
        client, [{"name": "现场照片.jpg", "url": media_server.url("/platform/files/1.jpg")}]
    )

    media_process()

    attachment = ticket.attachments.get()
    assert attachment.download == "failed" and "内网" in attachment.download_error
    assert media_server.seen == []


def test_it_gives_up_after_the_last_attempt_and_says_why(
    client: Client, hotline: ChannelAccount, media_server: MediaServer
) -> None:
    media_server.serve(
        "/platform/files/busy", Answer(status=503, body=b"busy", content_type="text/plain")
    )
    ticket = hotline_dispatch(
        client, [{"name": "现场.jpg", "url": media_server.url("/platform/files/busy")}]
    )
    (row,) = media_rows()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        media_process()
        attachment = ticket.attachments.get()
        if attempt < MAX_ATTEMPTS:
            assert attachment.download == "pending" and "HTTP 503" in attachment.download_error
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert attachment.download == "failed" and "HTTP 503" in attachment.download_error
    assert TicketEvent.objects.filter(ticket=ticket, kind="media_failed").count() == 1


# --- Open311 ----------------------------------------------------------------------------------


def test_it_downloads_an_open311_media_url(
    client: Client, categories: Any, media_server: MediaServer, media_settings: Any
) -> None:
    _key, raw = Open311ApiKey.issue(name="测试客户端")
    url = media_server.file("/uploads/photo.jpg", "photo.jpg", "image/jpeg")
    response = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": raw,
            "service_code": "lights",
            "description": "建设路路灯坏了一个多星期，晚上很黑。",
            "media_url": url,
        },
    )
    assert response.status_code == 200, response.content

    assert media_process().handled == {"sent:media:url": 1}
    attachment = Attachment.objects.get()
    assert attachment.name == "photo.jpg" and attachment.download == "downloaded"


# --- the job ------------------------------------------------------------------------------------


def test_it_writes_nothing_to_download_for_a_website_case(make_ticket: Any) -> None:
    make_ticket()
    assert media_rows() == []


@pytest.mark.django_db(transaction=True)
def test_the_embedded_scheduler_runs_the_same_download_job(
    client: Client, hotline: ChannelAccount, media_server: MediaServer, monkeypatch: Any
) -> None:
    assert "integrations.media.download.media_process" in {job.target for job in jobs.JOBS}
    media_server.file("/platform/files/1.jpg", "photo.jpg", "image/jpeg")
    ticket = hotline_dispatch(
        client, [{"name": "现场照片.jpg", "url": media_server.url("/platform/files/1.jpg")}]
    )
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(jobs, "_started", threading.Event())
    media_job = next(job for job in jobs.JOBS if job.name == "media-download")
    monkeypatch.setattr(jobs, "JOBS", (jobs.Job(media_job.name, 0.2, media_job.target),))
    stop = threading.Event()
    thread = jobs.start_in_process(stop)
    assert thread is not None
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if ticket.attachments.filter(download="downloaded").exists():
                break
            time.sleep(0.1)
        assert ticket.attachments.get().download == "downloaded"
    finally:
        stop.set()
        thread.join(timeout=5)


def test_the_migration_queues_media_recorded_before_the_job_existed(
    make_ticket: Any, media_settings: Any
) -> None:
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("integrations.migrations.0005_media_download_backfill")
    ticket = make_ticket("公园长椅坏了", channel="wechat", sender_kind="wechat_openid")
    legacy = Attachment.objects.create(ticket=ticket, name="图片", media_id="OLD", download="")
    upload = Attachment.objects.create(ticket=ticket, name="a.jpg", media_id="upload:x.jpg")
    plain = Attachment.objects.create(ticket=ticket, name="b")  # nothing to fetch

    backfill.backfill(apps, None)
    backfill.backfill(apps, None)  # a second run changes nothing

    legacy.refresh_from_db()
    assert legacy.download == "pending"
    (row,) = media_rows()
    assert row.payload == {"attachment_id": legacy.pk} and row.channel == "wechat"
    assert Attachment.objects.get(pk=upload.pk).download == ""
    assert Attachment.objects.get(pk=plain.pk).download == ""


@pytest.mark.django_db(transaction=True)
def test_it_queues_a_work_orders_media_in_one_statement(
    client: Client, hotline: ChannelAccount, media_server: MediaServer
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hotline_dispatch(client, [])  # warm-up: policies and calendar read
    files = [{"name": f"照片{n}.jpg", "url": media_server.url(f"/f/{n}.jpg")} for n in range(3)]
    with CaptureQueriesContext(connection) as queries:
        ticket = hotline_dispatch(client, files)
    sql = [query["sql"] for query in queries.captured_queries]
    assert (
        sum(statement.startswith('INSERT INTO "integrations_outboxmessage"') for statement in sql)
        == 1
    )
    assert not any("SAVEPOINT" in statement for statement in sql)
    assert {row.payload["attachment_id"] for row in media_rows()} == {
        attachment.pk for attachment in ticket.attachments.all()
    }
