"""The guarded media download (integrations/media/fetch.py and sniff.py) against a real HTTP
server on 127.0.0.1: real small files, oversize and endless bodies, wrong types, bombs,
redirects, refused addresses and slow answers."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from PIL import Image

from integrations.media import sniff
from integrations.media.fetch import Fetched, Limits, address_allowed, api_fetch, http_fetch
from integrations.outbound.base import DeliveryError
from tests.integrations.media_server import (
    Answer,
    MediaServer,
    dribble,
    endless,
    fixture_bytes,
    gzip_bomb,
    media_server,
    media_settings,
    png_declaring,
)

__all__ = ["media_server", "media_settings"]  # fixtures


def limits() -> Limits:
    return Limits.from_settings()


def fetch(url: str, **kwargs: Any) -> Fetched:
    return http_fetch(url, limits=limits(), **kwargs)


def refused(url: str, **kwargs: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        fetch(url, **kwargs).close()
    return caught.value


# --- what the bytes are -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "kind"),
    [
        ("photo.jpg", "image/jpeg", "image"),
        ("voice.amr", "audio/amr", "voice"),
        ("recording.mp3", "audio/mpeg", "voice"),
        ("video.mp4", "video/mp4", "video"),
    ],
)
def test_it_tells_real_files_by_their_first_bytes(name: str, content_type: str, kind: str) -> None:
    found = sniff.sniff(fixture_bytes(name)[: sniff.HEAD_BYTES])
    assert (found.content_type, found.kind) == (content_type, kind)


@pytest.mark.parametrize(
    ("head", "expect", "reason"),
    [
        (b"<!DOCTYPE html><html><body>404</body></html>", "image", "网页"),
        (b'{"errcode": 40007}', "", "JSON"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "", "x-msdownload"),
        (b"PK\x03\x04" + b"\0" * 40, "", "zip"),
        (b"", "image", "空文件"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 300, "voice", "与渠道所说的语音不符"),
    ],
)
def test_it_refuses_what_is_not_a_kept_type(head: bytes, expect: str, reason: str) -> None:
    with pytest.raises(sniff.MediaRefused, match=reason):
        sniff.sniff(head, expect=expect)


def test_it_knows_wechats_silk_voice() -> None:
    assert sniff.sniff(b"\x02#!SILK_V3" + b"\0" * 40).content_type == "audio/silk"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("114.114.114.114", True),
        ("2400:3200::1", True),
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address to refuse, not one to bind
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
        ("not-an-address", False),
    ],
)
def test_it_allows_only_public_addresses(address: str, allowed: bool) -> None:
    assert address_allowed(address) is allowed


def test_it_allows_a_private_network_that_is_listed() -> None:
    from integrations.media.fetch import networks_parse

    intranet = networks_parse(["10.20.0.0/16"])
    assert address_allowed("10.20.3.4", intranet) is True
    assert address_allowed("10.21.3.4", intranet) is False


# --- downloads from the real test server --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "expect"),
    [
        ("photo.jpg", "image/jpeg", "image"),
        ("voice.amr", "audio/amr", "voice"),
        ("recording.mp3", "audio/mpeg", ""),
        ("video.mp4", "video/mp4", "video"),
    ],
)
def test_it_downloads_real_media(
    media_server: MediaServer, media_settings: Any, name: str, content_type: str, expect: str
) -> None:
    # The server's header says nothing useful: the bytes decide.
    url = media_server.file(f"/{name}", name, "application/octet-stream")
    fetched = fetch(url, expect=expect)
    try:
        assert fetched.content_type == content_type
        assert fetched.file.read() == fixture_bytes(name)
        assert fetched.size == len(fixture_bytes(name))
    finally:
        fetched.close()


def test_it_refuses_a_web_page_served_as_an_image(
    media_server: MediaServer, media_settings: Any
) -> None:
    url = media_server.serve(
        "/fake.jpg",
        Answer(body=b"<html><body>login first</body></html>", content_type="image/jpeg"),
    )
    error = refused(url, expect="image")
    assert error.permanent and "网页" in str(error)


def test_it_refuses_an_oversize_file_from_its_declared_length_without_reading_it(
    media_server: MediaServer, media_settings: Any
) -> None:
    body = fixture_bytes("voice.amr")[:6] + b"\0" * 30_000  # 30 kB > the 20 kB voice cap
    url = media_server.serve("/long.amr", Answer(body=body, content_type="audio/amr"))
    error = refused(url, expect="voice")
    assert error.permanent and "语音超过" in str(error) and "声明大小" in str(error)


def test_it_stops_reading_an_endless_body_at_the_cap(
    media_server: MediaServer, media_settings: Any
) -> None:
    # No Content-Length at all, and a body that would go on for 200 MB.
    url = media_server.serve(
        "/endless.mp4",
        Answer(stream=endless(fixture_bytes("video.mp4")[:400]), content_type="video/mp4"),
    )
    error = refused(url, expect="video")
    assert error.permanent and "视频超过" in str(error) and "仍未结束" in str(error)
    assert media_server.sent_bytes["/endless.mp4"] < 50 * 1024 * 1024


def test_it_applies_the_cap_of_the_kind_the_bytes_turn_out_to_be(
    media_server: MediaServer, media_settings: Any
) -> None:
    # A 12345 attachment announces no kind: 30 kB of voice passes the 100 kB image cap but
    # not the 20 kB voice cap once the first bytes show it is voice.
    body = fixture_bytes("recording.mp3") * 5
    url = media_server.serve("/call.mp3", Answer(body=body, length=False, stream=None))
    error = refused(url)
    assert error.permanent and "语音超过" in str(error)


def test_it_refuses_a_gzip_encoding_that_inflates_past_the_cap(
    media_server: MediaServer, media_settings: Any
) -> None:
    bomb = gzip_bomb(b"\xff\xd8\xff\xe0\x00\x10JFIF", inflated=50 * 1024 * 1024)
    assert len(bomb) < 100_000  # small on the wire: only the inflated size is over the cap
    url = media_server.serve(
        "/bomb.jpg",
        Answer(body=bomb, content_type="image/jpeg", headers={"Content-Encoding": "gzip"}),
    )
    error = refused(url, expect="image")
    assert error.permanent and "图片超过" in str(error)


def test_it_inflates_an_honest_gzip_encoding(
    media_server: MediaServer, media_settings: Any
) -> None:
    import gzip

    body = gzip.compress(fixture_bytes("photo.jpg"))
    url = media_server.serve(
        "/photo.jpg",
        Answer(body=body, content_type="image/jpeg", headers={"Content-Encoding": "gzip"}),
    )
    fetched = fetch(url, expect="image")
    try:
        assert fetched.file.read() == fixture_bytes("photo.jpg")
    finally:
        fetched.close()


@pytest.mark.parametrize(
    ("width", "height"),
    [(100_000, 100_000), (3000, 2000)],  # past Pillow's own limit; past ours (4 MP in tests)
)
def test_it_refuses_an_image_declaring_an_absurd_pixel_size(
    media_server: MediaServer, media_settings: Any, width: int, height: int
) -> None:
    url = media_server.serve(
        "/bomb.png", Answer(body=png_declaring(width, height), content_type="image/png")
    )
    error = refused(url, expect="image")
    assert error.permanent and "解压炸弹" in str(error)


def test_it_keeps_an_image_of_a_sensible_size(
    media_server: MediaServer, media_settings: Any
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(buffer, "PNG")
    url = media_server.serve("/ok.png", Answer(body=buffer.getvalue(), content_type="image/png"))
    fetched = fetch(url, expect="image")
    fetched.close()
    assert fetched.content_type == "image/png"


def test_it_refuses_a_truncated_image(media_server: MediaServer, media_settings: Any) -> None:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 64), random.randbytes(64 * 64 * 3)).save(buffer, "PNG")
    whole = buffer.getvalue()
    url = media_server.serve(
        "/cut.png", Answer(body=whole[: len(whole) // 2], content_type="image/png")
    )
    error = refused(url, expect="image")
    assert error.permanent and "损坏" in str(error)


# --- addresses, schemes, redirects ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.jpg", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)"],
)
def test_it_downloads_only_http_and_https(media_settings: Any, url: str) -> None:
    error = refused(url)
    assert error.permanent and "http(s)" in str(error)


def test_it_refuses_credentials_in_the_url(media_settings: Any) -> None:
    error = refused("http://user:secret@example.com/a.jpg")
    assert error.permanent and "用户名或密码" in str(error)


def test_it_refuses_loopback_unless_the_network_is_allowed(
    media_server: MediaServer, media_settings: Any
) -> None:
    url = media_server.file("/photo.jpg", "photo.jpg", "image/jpeg")
    media_settings.MEDIA_DOWNLOAD = {**media_settings.MEDIA_DOWNLOAD, "ALLOW_NETWORKS": []}
    for address in (url, url.replace("127.0.0.1", "localhost")):
        error = refused(address)
        assert error.permanent and "内网" in str(error)
    assert media_server.seen == []  # refused before connecting


def test_it_refuses_a_redirect_to_a_refused_address(
    media_server: MediaServer, media_settings: Any
) -> None:
    # 127.0.0.1 is allowed for the test server; 127.0.0.2 (loopback too) is not.
    target = f"http://127.0.0.2:{media_server.port}/photo.jpg"
    url = media_server.serve("/go", Answer(status=302, headers={"Location": target}))
    error = refused(url)
    assert error.permanent and "127.0.0.2" in str(error)


def test_it_follows_a_short_redirect_but_not_a_loop(
    media_server: MediaServer, media_settings: Any
) -> None:
    media_server.file("/photo.jpg", "photo.jpg", "image/jpeg")
    url = media_server.serve("/moved", Answer(status=301, headers={"Location": "/photo.jpg"}))
    fetched = fetch(url)
    fetched.close()
    assert fetched.content_type == "image/jpeg"

    loop = media_server.serve("/loop", Answer(status=302, headers={"Location": "/loop"}))
    error = refused(loop)
    assert error.permanent and "重定向" in str(error)


def test_it_drops_given_headers_on_a_redirect_to_another_host(
    media_server: MediaServer, media_settings: Any
) -> None:
    media_server.file("/photo.jpg", "photo.jpg", "image/jpeg")
    other = f"http://localhost:{media_server.port}/photo.jpg"
    media_settings.MEDIA_DOWNLOAD = {
        **media_settings.MEDIA_DOWNLOAD,
        "ALLOW_NETWORKS": ["127.0.0.1/32", "::1/128"],
    }
    url = media_server.serve("/away", Answer(status=302, headers={"Location": other}))
    fetch(url, headers={"X-Hotline-Signature": "abc"}).close()
    first, second = media_server.seen
    assert first.headers.get("X-Hotline-Signature") == "abc"
    assert "X-Hotline-Signature" not in second.headers


# --- answers: permanent or worth another try --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "permanent"), [(404, True), (410, True), (403, True), (503, False), (429, False)]
)
def test_it_tells_permanent_from_temporary_http_failures(
    media_server: MediaServer, media_settings: Any, status: int, permanent: bool
) -> None:
    url = media_server.serve("/x", Answer(status=status, body=b"no", content_type="text/plain"))
    error = refused(url)
    assert error.permanent is permanent and str(status) in str(error)


def test_it_gives_up_on_an_answer_that_never_comes_and_tries_again_later(
    media_server: MediaServer, media_settings: Any
) -> None:
    url = media_server.serve("/slow", Answer(delay=3, body=b"late", content_type="image/jpeg"))
    error = refused(url)
    assert not error.permanent and "超时" in str(error)


def test_it_gives_up_on_a_body_that_dribbles_past_the_deadline(
    media_server: MediaServer, media_settings: Any
) -> None:
    # Each byte comes well within the 1 s read timeout; the whole never within the 2 s total.
    url = media_server.serve(
        "/dribble",
        Answer(stream=dribble(fixture_bytes("photo.jpg")[:300]), content_type="image/jpeg"),
    )
    error = refused(url, expect="image")
    assert not error.permanent and "超过 2 秒未完成" in str(error)


def test_it_tries_again_when_nothing_listens(media_settings: Any) -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = refused(f"http://127.0.0.1:{port}/a.jpg")
    assert not error.permanent and "网络错误" in str(error)


def test_it_hands_an_apis_json_answer_back(media_server: MediaServer, media_settings: Any) -> None:
    url = media_server.serve(
        "/api",
        Answer(
            status=200,
            body=b'{"errcode": 40007, "errmsg": "invalid media_id"}',
            content_type="text/plain",
        ),
    )
    answer = api_fetch(url, limits=limits())
    assert not isinstance(answer, Fetched)
    assert answer.data == {"errcode": 40007, "errmsg": "invalid media_id"}


def test_it_refuses_to_start_with_a_mistyped_allowed_network(tmp_path: Any) -> None:
    from tests.config.test_settings import REAL_KEY, run_django

    result = run_django(
        {"SECRET_KEY": REAL_KEY, "MEDIA_ALLOW_NETWORKS": "10.20.0.0/16, intranet"}, tmp_path
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "'intranet'" in result.stderr
    assert (
        run_django(
            {"SECRET_KEY": REAL_KEY, "MEDIA_ALLOW_NETWORKS": "10.20.0.0/16"}, tmp_path
        ).returncode
        == 0
    )
