"""WeChat: signatures, crypto, XML hardening and the parser as tables of cases, and the
endpoint's behaviour beyond the shared fixtures (compatible mode, events, replays, logging)."""

from __future__ import annotations

import base64
import logging
import os
import struct
import time
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.test import Client

from integrations.accounts import channel_account_save
from integrations.models import InboundMessage
from integrations.wechat import crypto, parser, replies
from tests.integrations.replay import wechat_reply_xml
from tickets.models import CitizenIdentity, Ticket

TOKEN = "C0eZqNGbQOkjlAeuT68nPncuHLjA"
AES_KEY = "ygyCJirb+nJIliJm6vBL1WaBpI+BubxZ+ZbVw4zY/bA"
APP_ID = "wx6dd2a9fffcdd437a"
GH = "gh_ce9e00bef06c"
OPENID = "oTnj3EWCSaG8aIJDE1QATi-kSwWy"


# --- helpers: an independent WeChat server -----------------------------------------------------


def encrypt_for(xml: bytes, *, app_id: str = APP_ID, key: str = AES_KEY) -> str:
    raw_key = base64.b64decode(key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(xml)) + xml + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(raw_key), modes.CBC(raw_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def message(
    msg_type: str = "text", sender: str = OPENID, created: int | None = None, **fields: str
) -> bytes:
    created = created if created is not None else int(time.time())
    parts = [
        f"<ToUserName><![CDATA[{GH}]]></ToUserName>",
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
        f"<CreateTime>{created}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
    ] + [f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items()]
    return ("<xml>" + "".join(parts) + "</xml>").encode()


def post(
    client: Client,
    body: bytes,
    *,
    slug: str = "wx-plain",
    encrypt: bool = False,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> Any:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or os.urandom(5).hex()
    query = {"signature": crypto.signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    if encrypt:
        encrypted = encrypt_for(body)
        body = f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        query |= {
            "encrypt_type": "aes",
            "msg_signature": crypto.signature(TOKEN, ts, nonce, encrypted),
        }
    return client.post(
        f"/integrations/wechat/{slug}/?{urlencode(query)}", body, content_type="text/xml"
    )


def reply_of(response: Any) -> ET.Element:
    account = {"token": TOKEN, "encoding_aes_key": AES_KEY, "app_id": APP_ID}
    return wechat_reply_xml(response.content.decode(), account)


@pytest.fixture
def accounts(db: Any) -> None:
    common = {"token": TOKEN, "app_id": APP_ID, "encoding_aes_key": AES_KEY, "original_id": GH}
    for slug, mode in (("wx-plain", "plain"), ("wx-compat", "compatible"), ("wx-safe", "safe")):
        channel_account_save(kind="wechat", slug=slug, values={**common, "mode": mode})


# --- signatures and crypto ---------------------------------------------------------------------


def test_it_signs_like_wechat() -> None:
    # The handshake vector of tests/fixtures/channels/wechat.json.
    assert crypto.signature(TOKEN, "1778552100", "1398575299") == (
        "0e451751cc3c49ccab6d9f026d3b6920febb83b0"
    )


@pytest.mark.parametrize(
    "given, ok",
    [
        ("0e451751cc3c49ccab6d9f026d3b6920febb83b0", True),
        ("0E451751CC3C49CCAB6D9F026D3B6920FEBB83B0", False),
        ("0e451751cc3c49ccab6d9f026d3b6920febb83b", False),
        ("", False),
        ("签名", False),
    ],
)
def test_it_checks_signatures_exactly(given: str, ok: bool) -> None:
    assert crypto.signature_ok(given, TOKEN, "1778552100", "1398575299") is ok


def test_it_decrypts_what_wechat_encrypts_including_emoji() -> None:
    xml = "<xml><Content>井盖松动了😡</Content></xml>".encode()
    assert crypto.decrypt(encrypt_for(xml), encoding_aes_key=AES_KEY, app_id=APP_ID) == xml


def test_it_encrypts_replies_that_wechat_can_read() -> None:
    reply = crypto.encrypt_reply(
        "<xml><Content>好😀</Content></xml>", token=TOKEN, encoding_aes_key=AES_KEY, app_id=APP_ID
    )
    root = reply_of(type("R", (), {"content": reply.encode()})())
    assert root.findtext("Content") == "好😀"


def _corrupt_padding() -> str:
    raw_key = base64.b64decode(AES_KEY + "=")
    plain = os.urandom(16) + struct.pack(">I", 3) + b"<a/" + APP_ID.encode()
    plain += b"\x00" * (32 - len(plain) % 32)  # zero is never valid PKCS#7
    encryptor = Cipher(algorithms.AES(raw_key), modes.CBC(raw_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def _overlong_length() -> str:
    raw_key = base64.b64decode(AES_KEY + "=")
    plain = os.urandom(16) + struct.pack(">I", 10_000) + b"<xml/>" + APP_ID.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(raw_key), modes.CBC(raw_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@pytest.mark.parametrize(
    "encrypted, error",
    [
        ("this is not base64!!", crypto.CryptoError),
        ("QUJD", crypto.CryptoError),  # valid base64, 3 bytes: not whole AES blocks
        ("", crypto.CryptoError),
        (base64.b64encode(b"x" * 32).decode(), crypto.CryptoError),  # garbage blocks
        (_corrupt_padding(), crypto.CryptoError),
        (_overlong_length(), crypto.CryptoError),
        (encrypt_for(b"<xml/>", app_id="wx5546d32cc2a0e147"), crypto.ForeignAppId),
    ],
)
def test_it_refuses_bad_ciphertexts(encrypted: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        crypto.decrypt(encrypted, encoding_aes_key=AES_KEY, app_id=APP_ID)


# --- XML hardening -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, reason",
    [
        (b'<!DOCTYPE xml [<!ENTITY x "y">]><xml><a>&x;</a></xml>', "DOCTYPE"),
        (b"<xml><a>\xc7\xe0</a></xml>", "UTF-8"),
        (b"<xml><a>1</a>", "XML"),
        (b"<root><a>1</a></root>", "<xml>"),
        (b"<xml><a>1</a><a>2</a></xml>", "重复"),
        (b"", "XML"),
        (b"\xef\xbb\xbf", "XML"),
    ],
)
def test_it_refuses_unreadable_xml(body: bytes, reason: str) -> None:
    with pytest.raises(parser.PushError) as caught:
        parser.xml_fields(body)
    assert reason in str(caught.value)


def test_it_reads_an_encoding_declaration_as_utf8_anyway() -> None:
    body = '<?xml version="1.0" encoding="gbk"?><xml><a>路灯</a></xml>'.encode()
    assert parser.xml_fields(body) == {"a": "路灯"}


@pytest.mark.parametrize(
    "body, reason",
    [
        (message(msg_type=""), "MsgType"),
        (
            b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime></xml>",
            "MsgType",
        ),
        (message(created=-1), "CreateTime"),
        (message().replace(b"<CreateTime>", b"<CreateTime>1.5"), "CreateTime"),
        (message(sender="o<1>"), "OpenID"),
        (message(sender="o 1"), "OpenID"),
        (message(MsgId="12a"), "MsgId"),
    ],
)
def test_it_refuses_pushes_missing_what_every_push_has(body: bytes, reason: str) -> None:
    with pytest.raises(parser.PushError) as caught:
        parser.push_fields(body)
    assert reason in str(caught.value)


# --- parser ------------------------------------------------------------------------------------


def incoming(body: bytes) -> Any:
    return parser.incoming_from(parser.wechat_message(parser.push_fields(body)), account="wx")


def test_it_maps_text() -> None:
    result = incoming(message(Content="路灯坏了🚗", MsgId="5189433507371362624"))
    assert (result.channel, result.sender_kind, result.sender_id) == (
        "wechat",
        "wechat_openid",
        OPENID,
    )
    assert result.text == "路灯坏了🚗"
    assert result.may_open is True
    assert result.received_at is None  # intake stamps the moment it arrived


@pytest.mark.parametrize(
    "body, text, may_open, attachment",
    [
        (
            message("voice", MediaId="m1", Format="amr", Recognition="下水道堵了"),
            "下水道堵了",
            True,
            ("m1", "audio/amr"),
        ),
        (message("voice", MediaId="m1", Format="amr"), "", False, ("m1", "audio/amr")),
        (
            message("image", MediaId="m2", PicUrl="http://mmbiz.qpic.cn/x/0"),
            "",
            False,
            ("m2", "image"),
        ),
        (message("video", MediaId="m3", ThumbMediaId="t"), "", False, ("m3", "video")),
        (message("shortvideo", MediaId="m4", ThumbMediaId="t"), "", False, ("m4", "video")),
    ],
)
def test_it_maps_media_to_attachments(
    body: bytes, text: str, may_open: bool, attachment: tuple[str, str]
) -> None:
    result = incoming(body)
    assert result.text == text
    assert result.may_open is may_open
    assert [(item.media_id, item.content_type) for item in result.attachments] == [attachment]


def test_it_maps_location() -> None:
    body = message("location", Label="建设路88号").replace(
        b"</MsgType>",
        b"</MsgType><Location_X>30.598467</Location_X><Location_Y>114.311586</Location_Y>",
    )
    result = incoming(body)
    assert (result.latitude, result.longitude) == (Decimal("30.598467"), Decimal("114.311586"))
    assert result.address == "建设路88号"
    assert result.may_open is False


@pytest.mark.parametrize("x, y", [("abc", "114"), ("95", "114"), ("30", "NaN"), ("", "")])
def test_it_refuses_impossible_locations(x: str, y: str) -> None:
    with pytest.raises(parser.PushError):
        incoming(message("location", Location_X=x, Location_Y=y))


def test_it_maps_a_link_to_text_with_the_link() -> None:
    result = incoming(
        message("link", Title="积水", Description="桥下积水", Url="https://mp.weixin.qq.com/s/x")
    )
    assert result.text == "积水\n桥下积水\nhttps://mp.weixin.qq.com/s/x"
    assert result.may_open is True


def test_it_keys_messages_by_msgid_and_events_by_sender_time_event_and_key() -> None:
    text = message(Content="x", MsgId="5189433507371362624", created=1)
    event = message("event", Event="CLICK", EventKey="MY_CASES", created=1)
    assert parser.dedupe_key("a", parser.push_fields(text), text) == "a:msg:5189433507371362624"
    assert (
        parser.dedupe_key("a", parser.push_fields(event), event)
        == f"a:event:{OPENID}:1:CLICK:MY_CASES"
    )


def test_it_recognises_a_qr_code_subscription() -> None:
    result = parser.wechat_message(
        parser.push_fields(message("event", Event="subscribe", EventKey="qrscene_2026"))
    )
    assert result.event == "subscribe_scan"
    assert result.scene_id == "2026"


def test_it_cannot_break_out_of_cdata_in_a_reply() -> None:
    xml = replies.text_reply_xml(to_user=OPENID, from_user=GH, text="a]]><MsgType>x</MsgType>")
    root = ET.fromstring(xml)
    assert root.findtext("Content") == "a]]><MsgType>x</MsgType>"
    assert root.findtext("MsgType") == "text"


# --- the endpoint ------------------------------------------------------------------------------


def test_it_answers_a_compatible_push_in_kind(client: Client, accounts: None) -> None:
    plain = post(client, message(Content="建设路路灯坏了", MsgId="1"), slug="wx-compat")
    encrypted = post(
        client,
        message(Content="和平街路灯也坏了", MsgId="2", sender="o-other"),
        slug="wx-compat",
        encrypt=True,
    )

    assert b"<Encrypt>" not in plain.content
    assert b"<Encrypt>" in encrypted.content
    assert "和平街路灯也坏了" == Ticket.objects.order_by("-id").first().content  # type: ignore[union-attr]
    assert reply_of(encrypted).findtext("ToUserName") == "o-other"


def test_it_keeps_emoji_through_safe_mode(client: Client, accounts: None) -> None:
    response = post(
        client, message(Content="井盖松动了😡💥", MsgId="3"), slug="wx-safe", encrypt=True
    )

    assert response.status_code == 200
    assert Ticket.objects.get().content == "井盖松动了😡💥"
    assert Ticket.objects.get().case_no in reply_of(response).findtext("Content")  # type: ignore[operator]


def test_it_refuses_an_unencrypted_push_in_safe_mode(client: Client, accounts: None) -> None:
    assert post(client, message(Content="x", MsgId="4"), slug="wx-safe").status_code == 400
    # Signed, so kept (issue 13: every signed message is journaled), never taken in.
    row = InboundMessage.objects.get()
    assert row.status == "rejected" and "加密" in row.reason


def test_it_refuses_a_replayed_signature(client: Client, accounts: None) -> None:
    # The same signed query (one timestamp, one nonce) carrying another body.
    signed_at, nonce = int(time.time()), os.urandom(5).hex()
    first = post(client, message(Content="第一条", MsgId="5"), nonce=nonce, timestamp=signed_at)
    again = post(
        client, message(Content="换了内容的第二条", MsgId="6"), nonce=nonce, timestamp=signed_at
    )

    assert first.status_code == 200
    assert again.status_code == 403
    assert Ticket.objects.count() == 1


def test_it_refuses_unknown_and_inactive_accounts(client: Client, accounts: None) -> None:
    assert post(client, message(MsgId="7"), slug="nope").status_code == 404
    from integrations.models import ChannelAccount

    ChannelAccount.objects.filter(slug="wx-plain").update(active=False)
    assert post(client, message(MsgId="7"), slug="wx-plain").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>gh_1</ToUserName><ToUserName>gh_2</ToUserName></xml>",
        message(msg_type=""),
        b"\xff\xfe<\x00x\x00m\x00l\x00>\x00",
        b"not xml at all",
    ],
)
def test_it_journals_an_unreadable_push_as_failed_and_logs_an_error(
    client: Client, accounts: None, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    with caplog.at_level(logging.ERROR):
        response = post(client, body)

    assert (response.status_code, response.content) == (200, b"success")
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.FAILED
    assert row.reason
    assert bytes(row.raw_body) == body
    assert any(record.levelno == logging.ERROR for record in caplog.records)
    assert Ticket.objects.count() == 0


def test_it_asks_for_words_when_a_photo_comes_alone(client: Client, accounts: None) -> None:
    response = post(client, message("image", MediaId="m", PicUrl="http://x/0", MsgId="8"))

    assert reply_of(response).findtext("Content") == replies.NEED_TEXT
    assert InboundMessage.objects.get().status == InboundMessage.Status.IGNORED


def test_it_confirms_a_follow_up(client: Client, accounts: None) -> None:
    post(client, message(Content="建设路路灯坏了", MsgId="9"))
    response = post(client, message("image", MediaId="m", PicUrl="http://x/0", MsgId="10"))

    ticket = Ticket.objects.get()
    assert f"已收到您对诉求 {ticket.case_no} 的补充" in reply_of(response).findtext("Content")  # type: ignore[operator]
    assert ticket.attachments.count() == 1


def test_it_welcomes_a_subscriber_and_answers_a_retry_the_same(
    client: Client, accounts: None
) -> None:
    body = message("event", Event="subscribe", EventKey="", created=int(time.time()))
    first, retry = post(client, body), post(client, body)

    assert "欢迎关注" in reply_of(first).findtext("Content")  # type: ignore[operator]
    assert reply_of(retry).findtext("Content") == reply_of(first).findtext("Content")
    assert InboundMessage.objects.count() == 1
    assert InboundMessage.objects.get().status == InboundMessage.Status.IGNORED


def test_it_marks_an_unsubscriber_and_a_returning_subscriber(
    client: Client, accounts: None
) -> None:
    post(client, message(Content="建设路路灯坏了", MsgId="11"))
    identity = CitizenIdentity.objects.get(value=OPENID, account="wx-plain")

    response = post(client, message("event", Event="unsubscribe", created=int(time.time()) - 2))
    assert response.content == b"success"
    identity.refresh_from_db()
    assert identity.subscribed is False

    post(client, message("event", Event="subscribe", created=int(time.time()) - 1))
    identity.refresh_from_db()
    assert identity.subscribed is True


def test_it_remembers_a_reported_location(client: Client, accounts: None) -> None:
    post(client, message(Content="建设路路灯坏了", MsgId="12"))
    body = message("event", Event="LOCATION").replace(
        b"</MsgType>",
        b"</MsgType><Latitude>30.598467</Latitude><Longitude>114.311586</Longitude><Precision>65.0</Precision>",
    )

    assert post(client, body).content == b"success"
    identity = CitizenIdentity.objects.get(value=OPENID)
    assert identity.last_location is not None
    assert identity.last_location["latitude"] == "30.598467"


def test_it_lists_no_cases_for_a_newcomer(client: Client, accounts: None) -> None:
    response = post(client, message("event", Event="CLICK", EventKey="MY_CASES"))
    assert "没有正在办理的诉求" in reply_of(response).findtext("Content")  # type: ignore[operator]


def test_it_answers_an_unknown_event_with_success(client: Client, accounts: None) -> None:
    response = post(client, message("event", Event="TEMPLATESENDJOBFINISH", Status="success"))
    assert response.content == b"success"
    assert InboundMessage.objects.get().status == InboundMessage.Status.IGNORED


def test_it_refuses_a_get_without_echostr(client: Client, accounts: None) -> None:
    ts, nonce = str(int(time.time())), "1"
    query = {"signature": crypto.signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    assert client.get("/integrations/wechat/wx-plain/", query).status_code == 400


@pytest.mark.parametrize("timestamp", ["abc", "-5", "1e9", "１７７８５５２１００"])
def test_it_refuses_a_timestamp_that_is_not_seconds(
    client: Client, accounts: None, timestamp: str
) -> None:
    query = {
        "signature": crypto.signature(TOKEN, timestamp, "1"),
        "timestamp": timestamp,
        "nonce": "1",
        "echostr": "x",
    }
    assert client.get("/integrations/wechat/wx-plain/", query).status_code == 400


def test_it_refuses_a_lying_content_length(client: Client, accounts: None) -> None:
    ts, nonce = str(int(time.time())), "77"
    query = urlencode(
        {"signature": crypto.signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    )
    response = client.generic(
        "POST",
        f"/integrations/wechat/wx-plain/?{query}",
        b"<xml/>",
        content_type="text/xml",
        headers={"Content-Length": str(2 * 1024 * 1024)},
    )
    assert response.status_code == 413


def test_it_refuses_an_encrypted_push_without_encrypt(client: Client, accounts: None) -> None:
    ts, nonce = str(int(time.time())), "88"
    query = {
        "signature": crypto.signature(TOKEN, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.signature(TOKEN, ts, nonce, ""),
    }
    body = message(Content="没有加密的内容", MsgId="13")
    response = client.post(
        f"/integrations/wechat/wx-safe/?{urlencode(query)}", body, content_type="text/xml"
    )

    assert response.status_code == 400
    assert Ticket.objects.count() == 0
