"""Weibo: signatures, dedupe keys, parsing and the push endpoint's edges (beyond the fixtures)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlencode

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from integrations.accounts import channel_account_save
from integrations.models import ChannelAccount, InboundMessage
from integrations.weibo import parser
from integrations.weibo.parser import UnknownPush, WeiboEvent
from tickets.models import Attachment, CitizenIdentity, Ticket, TicketEvent
from tickets.services.intake import IncomingMessage

SLUG = "qingshan-weibo"
SECRET = "6b8aaad8683a67b7eca1daea76f6d909"
OUR_UID = 7208841469
NOW = dt.datetime(2026, 5, 12, 12, 40, tzinfo=dt.UTC)
BIG_UID = 2**53 + 1  # not representable as a float
CREATED = "Tue May 12 20:40:00 +0800 2026"


def push(
    kind: str = "text",
    text: str = "长江路夜市油烟扰民，晚上十二点还很吵。",
    sender: int = 2132273433,
    data: dict[str, Any] | None = None,
    created_at: str = CREATED,
) -> bytes:
    body = {
        "type": kind,
        "receiver_id": OUR_UID,
        "sender_id": sender,
        "created_at": created_at,
        "text": text,
        "data": data or {},
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# --- pure functions ---------------------------------------------------------------------------


def test_it_reproduces_weibos_published_signature_example() -> None:
    assert (
        parser.signature_compute(
            app_secret="xyz123xyz", timestamp="1397022061823", nonce="57155157"
        )
        == "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1"
    )


@pytest.mark.parametrize(
    ("secret", "timestamp", "nonce", "signature", "valid"),
    [
        (
            "xyz123xyz",
            "1397022061823",
            "57155157",
            "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1",
            True,
        ),
        (
            "xyz123xyz",
            "1397022061823",
            "57155157",
            "90E4C22C90A58F26526C2DD5B6C56C8822EDEAA1",
            True,
        ),
        (
            "xyz123xyz",
            "1397022061824",
            "57155157",
            "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1",
            False,
        ),
        ("other", "1397022061823", "57155157", "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1", False),
        ("", "1397022061823", "57155157", "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1", False),
        ("xyz123xyz", "1397022061823", "57155157", "签名", False),
    ],
)
def test_it_checks_signatures(
    secret: str, timestamp: str, nonce: str, signature: str, valid: bool
) -> None:
    assert (
        parser.signature_valid(
            app_secret=secret, timestamp=timestamp, nonce=nonce, signature=signature
        )
        is valid
    )


@pytest.mark.parametrize(
    ("offset_ms", "fresh"),
    [(0, True), (-300_000, True), (300_000, True), (-300_001, False), (300_001, False)],
)
def test_it_reads_timestamps_as_milliseconds(offset_ms: int, fresh: bool) -> None:
    timestamp = str(int(NOW.timestamp() * 1000) + offset_ms)
    assert parser.timestamp_fresh(timestamp, now=NOW) is fresh


def test_it_refuses_a_seconds_or_garbage_timestamp() -> None:
    assert not parser.timestamp_fresh(str(int(NOW.timestamp())), now=NOW)
    assert not parser.timestamp_fresh("abc", now=NOW)
    assert not parser.timestamp_fresh("", now=NOW)


def test_it_keys_a_retry_alike_and_a_same_second_message_apart() -> None:
    first = push()
    retry = push()
    other = push(text="另外夜市收摊后垃圾也没人清理。")
    key = parser.dedupe_key(first, parser.push_peek(first), account=SLUG)
    assert key == parser.dedupe_key(retry, parser.push_peek(retry), account=SLUG)
    assert key != parser.dedupe_key(other, parser.push_peek(other), account=SLUG)
    assert key.startswith(f"{SLUG}:2132273433:{CREATED}:")
    assert len(key) <= 200
    assert key != parser.dedupe_key(first, parser.push_peek(first), account="other-weibo")


def test_it_keys_data_by_content_not_by_key_order() -> None:
    a = b'{"type":"position","sender_id":1,"created_at":"x","text":"","data":{"latitude":"1","longitude":"2"}}'
    b = b'{"data":{"longitude":"2","latitude":"1"},"text":"","created_at":"x","sender_id":1,"type":"position"}'
    assert parser.dedupe_key(a, parser.push_peek(a), account=SLUG) == parser.dedupe_key(
        b, parser.push_peek(b), account=SLUG
    )


def test_it_keys_an_unreadable_body_on_its_bytes() -> None:
    raw = b'{"type": "text", "sender_id": 38'
    key = parser.dedupe_key(raw, parser.push_peek(raw), account=SLUG)
    assert key.startswith(f"{SLUG}:raw:")
    assert key == parser.dedupe_key(raw, parser.push_peek(raw), account=SLUG)


def test_it_keeps_int64_ids_exact() -> None:
    raw = push(sender=BIG_UID)
    message = parser.push_parse(raw, account=SLUG)
    assert isinstance(message, IncomingMessage)
    assert message.sender_id == str(BIG_UID)
    peeked = parser.push_peek(raw)
    reply = parser.passive_reply(our_uid=OUR_UID, citizen_uid=peeked.sender_id or 0, text="好")
    assert f'"receiver_id": {BIG_UID}' in reply


def test_it_refuses_float_ids() -> None:
    raw = b'{"type": "text", "sender_id": 2132273433.0, "text": "x", "data": {}}'
    assert parser.push_peek(raw).sender_id is None
    with pytest.raises(parser.ParseRejected):
        parser.push_parse(raw, account=SLUG)


def test_it_parses_a_text_push() -> None:
    message = parser.push_parse(push(), account=SLUG)
    assert isinstance(message, IncomingMessage)
    assert (message.channel, message.account, message.sender_kind) == ("weibo", SLUG, "weibo_uid")
    assert message.text == "长江路夜市油烟扰民，晚上十二点还很吵。"
    assert message.sent_at == dt.datetime(2026, 5, 12, 12, 40, tzinfo=dt.UTC)
    assert message.received_at is None  # the moment it reached us, set by intake
    assert message.may_open


def test_it_parses_a_position_as_a_location_that_opens_nothing() -> None:
    message = parser.push_parse(
        push("position", "", data={"longitude": "114.298765", "latitude": "30.601234"}),
        account=SLUG,
    )
    assert isinstance(message, IncomingMessage)
    assert message.latitude == Decimal("30.601234")
    assert message.longitude == Decimal("114.298765")
    assert not message.may_open


@pytest.mark.parametrize(
    ("kind", "content_type"), [("image", "image/jpeg"), ("voice", "audio/amr")]
)
def test_it_parses_media_as_an_attachment_that_opens_nothing(kind: str, content_type: str) -> None:
    message = parser.push_parse(push(kind, "", data={"vfid": 821804459, "tovfid": 1}), account=SLUG)
    assert isinstance(message, IncomingMessage)
    assert [(a.media_id, a.content_type) for a in message.attachments] == [
        ("821804459", content_type)
    ]
    assert not message.may_open


def test_it_parses_events_and_unknown_pushes() -> None:
    event = parser.push_parse(
        push("event", "", data={"subtype": "click", "key": "menu_1"}), account=SLUG
    )
    assert event == WeiboEvent(
        subtype="click",
        sender_id="2132273433",
        at=dt.datetime(2026, 5, 12, 12, 40, tzinfo=dt.UTC),
        key="menu_1",
    )
    assert isinstance(parser.push_parse(push("sticker"), account=SLUG), UnknownPush)
    assert isinstance(
        parser.push_parse(push("event", "", data={"subtype": "dance"}), account=SLUG), UnknownPush
    )


def test_it_builds_a_passive_reply_with_url_encoded_json() -> None:
    body = json.loads(
        parser.passive_reply(our_uid=OUR_UID, citizen_uid=42, text="编号 20260512000001 & 查询")
    )
    assert body["result"] is True
    assert (body["sender_id"], body["receiver_id"], body["type"]) == (OUR_UID, 42, "text")
    assert "%" in body["data"] and "编" not in body["data"]
    assert json.loads(unquote(body["data"])) == {"text": "编号 20260512000001 & 查询"}


def test_it_keeps_reply_text_under_the_limit_with_case_number_and_link() -> None:
    url = "https://12345.example.gov.cn/track/?case_no=20260512000001"
    text = parser.reply_text_for(
        {"action": "created", "reply": "很长" * 200, "case_no": "20260512000001", "lookup_url": url}
    )
    assert len(text) < 300
    assert "20260512000001" in text and url in text
    assert parser.reply_text_for({"action": "ignored"}) == ""
    assert parser.reply_text_for({"action": "failed", "reason": "处理失败"}) == ""


# --- the endpoint -----------------------------------------------------------------------------


@pytest.fixture
def account(db: Any) -> ChannelAccount:
    cache.clear()
    saved, _ = channel_account_save(
        kind="weibo",
        slug=SLUG,
        values={
            "uid": str(OUR_UID),
            "app_key": "4471904416",
            "app_secret": SECRET,
            "access_token": "t",
        },
    )
    return saved


def signed(*, at: dt.datetime = NOW, nonce: str = "1234", **extra: str) -> str:
    timestamp = str(int(at.timestamp() * 1000))
    signature = parser.signature_compute(app_secret=SECRET, timestamp=timestamp, nonce=nonce)
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}
    return f"/integrations/weibo/{SLUG}/?" + urlencode(query)


_nonce = {"n": 0}


def post(client: Client, body: bytes, *, at: dt.datetime = NOW, nonce: str = "") -> Any:
    _nonce["n"] += 1
    with time_machine.travel(at, tick=False):
        return client.post(
            signed(at=at, nonce=nonce or str(_nonce["n"])),
            data=body,
            content_type="application/json",
        )


def reply_text(response: Any) -> str:
    return str(json.loads(unquote(json.loads(response.content)["data"]))["text"])


def test_it_answers_the_handshake_as_plain_text(client: Client, account: ChannelAccount) -> None:
    response = client.get(signed(echostr="abc123"))
    assert response.status_code == 200
    assert response.content == b"abc123"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    ["", "?signature=x&timestamp=1", "?timestamp=1&nonce=2", "?signature=x&nonce=2"],
)
def test_it_wants_all_three_parameters(client: Client, account: ChannelAccount, query: str) -> None:
    assert client.get(f"/integrations/weibo/{SLUG}/{query}").status_code == 400
    assert (
        client.post(
            f"/integrations/weibo/{SLUG}/{query}", data=push(), content_type="application/json"
        ).status_code
        == 400
    )
    assert InboundMessage.objects.count() == 0


def test_it_wants_an_echostr_on_the_handshake(client: Client, account: ChannelAccount) -> None:
    assert client.get(signed()).status_code == 400


def test_it_refuses_a_wrong_signature(client: Client, account: ChannelAccount) -> None:
    url = signed(echostr="e").replace("signature=", "signature=0")
    assert client.get(url).status_code == 403


def test_it_does_not_know_an_unknown_or_inactive_account(
    client: Client, account: ChannelAccount
) -> None:
    assert client.get(signed(echostr="e").replace(SLUG, "nobody")).status_code == 404
    ChannelAccount.objects.filter(pk=account.pk).update(active=False)
    assert client.get(signed(echostr="e")).status_code == 404


def test_it_refuses_other_methods(client: Client, account: ChannelAccount) -> None:
    assert client.put(signed(), data=push()).status_code == 405


def test_it_refuses_a_stale_timestamp_without_storing(
    client: Client, account: ChannelAccount
) -> None:
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            signed(at=NOW - dt.timedelta(seconds=301)), data=push(), content_type="application/json"
        )
    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0


def test_it_refuses_a_reused_signed_query_with_another_body(
    client: Client, account: ChannelAccount
) -> None:
    assert post(client, push(), nonce="555").status_code == 200
    assert post(client, push(), nonce="555").status_code == 200  # same body: the same answer
    assert post(client, push(text="伪造的内容"), nonce="555").status_code == 403
    assert InboundMessage.objects.count() == 1


def test_it_opens_a_ticket_and_answers_a_retry_with_the_same_reply(
    client: Client, account: ChannelAccount
) -> None:
    first = post(client, push(sender=BIG_UID))
    assert first.status_code == 200
    assert first["Content-Type"].startswith("application/json")
    ticket = Ticket.objects.get()
    assert f'"receiver_id": {BIG_UID}' in first.content.decode()
    text = reply_text(first)
    assert ticket.case_no in text and "/track/?case_no=" in text and len(text) < 300
    assert ticket.received_at == NOW
    retry = post(client, push(sender=BIG_UID), at=NOW + dt.timedelta(seconds=5))
    assert reply_text(retry) == text
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    row = InboundMessage.objects.get()
    assert row.status == "processed" and row.ticket_id == ticket.pk
    assert row.response is not None and ticket.case_no in row.response["reply"]
    assert CitizenIdentity.objects.get().value == str(BIG_UID)


def test_it_adds_a_photo_and_a_location_to_the_open_ticket(
    client: Client, account: ChannelAccount
) -> None:
    post(client, push())
    ticket = Ticket.objects.get()
    photo = post(
        client, push("image", "", data={"vfid": 821804459}), at=NOW + dt.timedelta(seconds=1)
    )
    assert ticket.case_no in reply_text(photo)
    post(
        client,
        push("position", "", data={"longitude": "114.3", "latitude": "30.6"}),
        at=NOW + dt.timedelta(seconds=2),
    )
    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1
    assert Attachment.objects.get().media_id == "821804459"
    assert Attachment.objects.get().ticket_id == ticket.pk
    assert ticket.latitude == Decimal("30.6")
    assert TicketEvent.objects.filter(ticket=ticket, kind="citizen_message").count() == 2


def test_it_answers_a_photo_alone_with_an_empty_body(
    client: Client, account: ChannelAccount
) -> None:
    response = post(client, push("image", "", data={"vfid": 1}))
    assert response.status_code == 200 and response.content == b""
    assert Ticket.objects.count() == 0
    assert InboundMessage.objects.get().status == "ignored"


def test_it_answers_a_status_query(client: Client, account: ChannelAccount) -> None:
    post(client, push())
    case_no = Ticket.objects.get().case_no
    response = post(client, push(text=f"进度 {case_no}"), at=NOW + dt.timedelta(minutes=30))
    assert case_no in reply_text(response) and "待受理" in reply_text(response)
    assert Ticket.objects.count() == 1


def test_it_welcomes_a_follower_and_opens_their_window(
    client: Client, account: ChannelAccount
) -> None:
    post(client, push())
    identity = CitizenIdentity.objects.get()
    CitizenIdentity.objects.filter(pk=identity.pk).update(last_seen_at=NOW - dt.timedelta(days=9))
    later = NOW + dt.timedelta(hours=1)
    response = post(
        client,
        push("event", "", data={"subtype": "follow"}, created_at="Tue May 12 21:40:00 +0800 2026"),
        at=later,
    )
    assert "感谢关注" in reply_text(response)
    identity.refresh_from_db()
    assert identity.last_seen_at == later
    assert InboundMessage.objects.filter(status="ignored").count() == 1


def test_it_marks_an_unfollower_unsubscribed(client: Client, account: ChannelAccount) -> None:
    post(client, push())
    response = post(
        client, push("event", "", data={"subtype": "unfollow"}), at=NOW + dt.timedelta(seconds=1)
    )
    assert response.status_code == 200 and response.content == b""
    assert CitizenIdentity.objects.get().subscribed is False
    assert Ticket.objects.count() == 1


def test_it_journals_an_unknown_subtype_without_a_ticket(
    client: Client, account: ChannelAccount
) -> None:
    response = post(client, push("event", "", data={"subtype": "dance"}))
    assert response.status_code == 200 and response.content == b""
    row = InboundMessage.objects.get()
    assert row.status == "ignored" and "dance" in row.reason


def test_it_journals_invalid_json_as_failed_and_answers_200(
    client: Client, account: ChannelAccount
) -> None:
    raw = '{"type": "text", "sender_id": 3814898140, "text": "没写完'.encode()
    response = post(client, raw)
    assert response.status_code == 200 and response.content == b""
    row = InboundMessage.objects.get()
    assert row.status == "failed"
    assert bytes(row.raw_body) == raw
    assert Ticket.objects.count() == 0


def test_it_rejects_json_without_a_sender(client: Client, account: ChannelAccount) -> None:
    response = post(client, b'{"type": "text", "text": "hello", "data": {}}')
    assert response.status_code == 200
    assert InboundMessage.objects.get().status == "rejected"
    assert Ticket.objects.count() == 0


def test_it_refuses_an_oversized_body(client: Client, account: ChannelAccount) -> None:
    response = post(client, push(text="长" * 30_000))
    assert response.status_code == 413
    assert InboundMessage.objects.count() == 0
