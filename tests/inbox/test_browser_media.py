"""Channel media on the ticket page in a real browser (Playwright, Debian's chromium): the
attachments wait as 待下载, the download job's pass updates the open page live, and after a
reload the photo is previewed, the failure says why. Screenshots in test-artifacts/inbox/."""

from __future__ import annotations

from typing import Any

from integrations.media.download import media_process
from tests.browser import Step, browser_marks, in_thread, sign_in
from tests.integrations.media_server import (
    Answer,
    MediaServer,
    media_server,
    media_settings,
)
from tickets import services
from tickets.models import Ticket
from tickets.services import IncomingAttachment

__all__ = ["media_server", "media_settings"]  # fixtures

pytestmark = browser_marks


def hotline_case(server: MediaServer, departments: dict[str, Any]) -> Ticket:
    server.file("/f/photo.jpg", "photo.jpg", "image/jpeg")
    server.file("/f/video.mp4", "video.mp4", "video/mp4")
    server.serve("/f/form", Answer(body=b"<html>please log in</html>", content_type="text/html"))
    server.serve("/f/busy", Answer(status=503, body=b"busy", content_type="text/plain"))
    result = services.intake_message(
        message=services.IncomingMessage(
            channel="hotline",
            sender_kind="phone",
            sender_id="15812872383",
            text="工业路铁路桥下每逢下雨积水深达半米，附现场照片、视频和说明。",
            title="铁路桥下积水",
            acknowledged=True,
            may_follow_up=False,
            department_code=departments["a"].code,
            attachments=[
                IncomingAttachment(name="现场照片.jpg", url=server.url("/f/photo.jpg")),
                IncomingAttachment(name="现场视频", url=server.url("/f/video.mp4")),
                IncomingAttachment(name="情况说明.pdf", url=server.url("/f/form")),
                IncomingAttachment(name="补充照片.jpg", url=server.url("/f/busy")),
            ],
        )
    )
    assert result.ticket is not None
    return result.ticket


def test_it_shows_channel_media_from_pending_to_downloaded(
    live_asgi: str,
    cast: dict[str, Any],
    departments: dict[str, Any],
    browser: Any,
    media_server: MediaServer,
    media_settings: Any,
) -> None:
    step = Step("channel-media")
    ticket = in_thread(lambda: hotline_case(media_server, departments))
    dispatcher = sign_in(browser, live_asgi, "dispatcher")
    dispatcher.goto(f"{live_asgi}/inbox/tickets/{ticket.case_no}/")
    items = dispatcher.locator("#attachments li.attachment")
    assert items.count() == 4
    assert all("待下载" in text for text in items.all_inner_texts())
    step.shot(dispatcher, "waiting-for-download")

    report = in_thread(media_process)
    assert report.handled == {"sent:hotline:url": 2, "failed": 1, "retry": 1}
    # The open page hears of it live and offers to refresh.
    dispatcher.wait_for_selector("#changed-banner:not([hidden])")
    step.shot(dispatcher, "live-banner")

    dispatcher.reload()
    photo = dispatcher.locator("li.attachment", has_text="现场照片.jpg")
    assert "已下载" in photo.inner_text()
    image = photo.locator("img")
    image.wait_for()
    dispatcher.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [160, 120]
    video = dispatcher.locator("li.attachment", has_text="现场视频.mp4")
    assert "已下载" in video.inner_text() and video.locator("video").count() == 1
    failed = dispatcher.locator("li.attachment", has_text="情况说明.pdf")
    assert "下载失败" in failed.inner_text() and "网页" in failed.inner_text()
    waiting = dispatcher.locator("li.attachment", has_text="补充照片.jpg")
    assert "待下载" in waiting.inner_text() and "HTTP 503" in waiting.inner_text()
    assert "附件已下载" in dispatcher.inner_text("#timeline")
    assert "附件下载失败" in dispatcher.inner_text("#timeline")
    step.shot(dispatcher, "downloaded-and-failed")

    # The preview's link opens the file itself, for this signed-in user only.
    href = photo.locator("a.attachment-link").get_attribute("href")
    opened = dispatcher.goto(f"{live_asgi}{href}")
    assert opened.status == 200 and opened.headers["content-type"] == "image/jpeg"
    step.shot(dispatcher, "photo-opened")
    outsider = sign_in(browser, live_asgi, "handler_b")
    assert outsider.goto(f"{live_asgi}{href}").status == 404
