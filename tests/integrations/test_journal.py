"""The inbound journal: store first, then parse, then hand to intake; nothing is lost and a
repeat creates nothing."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection, connections

from integrations import journal
from integrations.journal import Ignore, ParseRejected, inbound_receive
from integrations.models import InboundMessage
from tickets import services
from tickets.errors import InvalidInput
from tickets.models import CitizenIdentity, Ticket


def parse_json(raw: bytes) -> services.IncomingMessage:
    data = json.loads(raw)
    return services.IncomingMessage(
        channel="wechat",
        sender_kind=CitizenIdentity.Kind.WECHAT_OPENID,
        account="gh_minsheng",
        sender_id=data["from"],
        text=data["text"],
    )


def body(text: str = "建设路路灯坏了一个多星期。", sender: str = "o-citizen-1") -> bytes:
    return json.dumps({"from": sender, "text": text}, ensure_ascii=False).encode()


def receive(raw: bytes, parse: journal.Parser = parse_json, key: str = "msg-1") -> journal.Outcome:
    return inbound_receive(
        channel="wechat",
        dedupe_key=key,
        raw_body=raw,
        parse=parse,
        account="gh_minsheng",
        content_type="application/json",
        headers={"X-Test": "1"},
    )


class Boom(Exception):
    pass


def exploding(raw: bytes) -> services.IncomingMessage:
    raise Boom("parser fell over")


# --- store first ------------------------------------------------------------------------------


def test_it_commits_the_raw_message_before_parsing(transactional_db: Any) -> None:
    raw = body()
    seen: dict[str, Any] = {}

    def look_from_elsewhere() -> None:
        # Another connection only sees what was committed.
        try:
            row = InboundMessage.objects.filter(channel="wechat", dedupe_key="msg-1").first()
            seen["raw"] = bytes(row.raw_body) if row else None
            seen["status"] = row.status if row else None
        finally:
            connections.close_all()

    def parse(data: bytes) -> services.IncomingMessage:
        assert not connection.in_atomic_block
        thread = threading.Thread(target=look_from_elsewhere)
        thread.start()
        thread.join()
        return parse_json(data)

    outcome = receive(raw, parse)
    assert seen == {"raw": raw, "status": "accepted"}
    assert outcome.inbound.status == "processed"


def test_it_keeps_the_raw_bytes_when_the_parser_raises(db: Any) -> None:
    raw = b"\xff\xfe not json, not even utf-8 \x00\x01"
    outcome = receive(raw, exploding)
    row = InboundMessage.objects.get()
    assert bytes(row.raw_body) == raw
    assert row.status == InboundMessage.Status.FAILED
    assert row.reason == "Boom: parser fell over"
    assert row.attempts == 1
    assert row.ticket is None
    assert row.processed_at is not None
    assert (row.content_type, row.headers, row.account) == (
        "application/json",
        {"X-Test": "1"},
        "gh_minsheng",
    )
    assert outcome.response["action"] == "failed"
    assert "Boom" not in outcome.response["reason"]  # internals stay in the journal
    assert Ticket.objects.count() == 0


def test_a_rejected_message_is_kept_with_the_reason(db: Any) -> None:
    def reject(raw: bytes) -> services.IncomingMessage:
        raise ParseRejected("不支持的消息类型：voice")

    outcome = receive(b"<xml>voice</xml>", reject)
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.REJECTED
    assert row.reason == "不支持的消息类型：voice"
    assert bytes(row.raw_body) == b"<xml>voice</xml>"
    assert outcome.response == {"action": "rejected", "reason": "不支持的消息类型：voice"}
    assert row.response == outcome.response
    assert Ticket.objects.count() == 0


def test_a_ticket_error_from_intake_rejects_the_message(db: Any, monkeypatch: Any) -> None:
    def refuse(**kwargs: Any) -> services.IntakeResult:
        raise InvalidInput("诉求内容不能为空。", field="content")

    monkeypatch.setattr(journal, "intake_message", refuse)
    receive(body())
    row = InboundMessage.objects.get()
    assert (row.status, row.reason) == ("rejected", "诉求内容不能为空。")


def test_an_ignored_message_is_kept_as_ignored(db: Any) -> None:
    def ignore(raw: bytes) -> services.IncomingMessage:
        raise Ignore("subscribe event", {"action": "ignored", "reply": "欢迎关注"})

    outcome = receive(b"<xml>subscribe</xml>", ignore)
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.IGNORED
    assert row.reason == "subscribe event"
    assert outcome.response == {"action": "ignored", "reply": "欢迎关注"}
    assert row.response == outcome.response
    assert Ticket.objects.count() == 0


def test_a_message_intake_ignores_is_kept_as_ignored(db: Any) -> None:
    outcome = receive(body(text="   "))
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.IGNORED
    assert outcome.response["action"] == "ignored"
    assert row.ticket is None


def test_a_processed_message_records_its_ticket_and_response(db: Any) -> None:
    outcome = receive(body())
    ticket = Ticket.objects.get()
    row = InboundMessage.objects.get()
    assert outcome.inbound.pk == row.pk
    assert outcome.repeated is False
    assert row.status == InboundMessage.Status.PROCESSED
    assert row.reason == ""
    assert row.ticket == ticket
    assert row.response == outcome.response
    assert outcome.response["action"] == "created"
    assert outcome.response["case_no"] == ticket.case_no
    assert ticket.case_no in outcome.response["reply"]
    assert row.parsed is not None and row.parsed["text"] == "建设路路灯坏了一个多星期。"
    assert row.parsed["sender_id"] == "o-citizen-1"


# --- repeats ----------------------------------------------------------------------------------


def test_a_repeat_returns_the_first_answer_and_creates_nothing(db: Any) -> None:
    first = receive(body())
    calls = []

    def counting(raw: bytes) -> services.IncomingMessage:
        calls.append(raw)
        return parse_json(raw)

    second = receive(body(), counting)
    assert second.repeated is True
    assert second.response == first.response
    assert second.inbound.pk == first.inbound.pk
    assert calls == []
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.get().attempts == 1


def test_a_repeat_with_a_different_body_still_returns_the_first_answer(db: Any) -> None:
    first = receive(body())
    second = receive(body(text="完全不同的内容"))
    assert second.response == first.response
    assert Ticket.objects.count() == 1
    kept = InboundMessage.objects.get(status="processed")
    assert bytes(kept.raw_body) == body()
    # The other body is kept beside it (nothing that arrived is lost), answered the same.
    variant = InboundMessage.objects.get(status="ignored")
    assert bytes(variant.raw_body) == body(text="完全不同的内容")
    assert variant.response == first.response and variant.ticket is None
    assert receive(body(text="完全不同的内容")).response == first.response  # and only once
    assert InboundMessage.objects.count() == 2


def test_a_repeat_of_a_failed_message_creates_nothing(db: Any) -> None:
    first = receive(body(), exploding)
    second = receive(body())
    assert second.repeated is True
    assert second.response == first.response
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 0


def test_the_same_key_on_another_channel_is_another_message(db: Any) -> None:
    receive(body())
    other = inbound_receive(channel="weibo", dedupe_key="msg-1", raw_body=body(), parse=parse_json)
    assert other.repeated is False
    assert InboundMessage.objects.count() == 2


def test_a_long_dedupe_key_still_deduplicates(db: Any) -> None:
    key = "k" * 300
    receive(body(), key=key)
    again = receive(body(), key=key)
    assert again.repeated is True
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1


# --- commit behaviour -------------------------------------------------------------------------


class Crash(BaseException):
    """The worker died mid-message (not an Exception: nothing catches it)."""


def test_a_message_whose_processing_died_is_kept_and_processed_on_retry(
    transactional_db: Any,
) -> None:
    def dying(raw: bytes) -> services.IncomingMessage:
        raise Crash()

    with pytest.raises(Crash):
        receive(body(), dying)
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.ACCEPTED
    assert row.response is None
    assert bytes(row.raw_body) == body()

    retry = receive(body())
    assert retry.repeated is True
    assert retry.response["action"] == "created"
    row.refresh_from_db()
    assert row.status == InboundMessage.Status.PROCESSED
    assert row.attempts == 2
    assert row.ticket == Ticket.objects.get()


def test_a_failure_inside_intake_rolls_back_the_ticket_but_keeps_the_message(
    transactional_db: Any, monkeypatch: Any
) -> None:
    from tickets.services import intake

    real = intake.ticket_create

    def half_way(**kwargs: Any) -> Ticket:
        real(**kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(intake, "ticket_create", half_way)
    outcome = receive(body())
    assert outcome.response["action"] == "failed"
    assert Ticket.objects.count() == 0
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.FAILED
    assert row.reason == "RuntimeError: disk full"
    assert bytes(row.raw_body) == body()
    assert row.ticket is None
