"""Citizen notices: queued with the change that causes them, sent by the outbox worker through
the channel's ways in order, then SMS, else marked undeliverable on the ticket."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from integrations.models import ChannelAccount, OutboxMessage
from integrations.outbound import processor
from integrations.outbound.base import DeliveryError, Notice
from integrations.outbound.processor import Result, backoff, outbox_process
from integrations.registry import ChannelSpec, channel_register, channel_unregister
from tests.conftest import requires_postgres, run_together, walk
from tickets import services
from tickets.models import Citizen, CitizenIdentity, Ticket, TicketEvent
from tickets.services.extensions import ticket_extension_decide, ticket_extension_request

CHANNEL = "fakechan"
START = dt.datetime(2025, 3, 4, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing, a Tuesday


class FakeWays:
    """Two ways to reach a citizen of the test channel, scripted per test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.calls: list[tuple[str, int, str, str]] = []
        self.script: dict[str, list[Exception | None]] = {"first": [], "second": []}

    def sender(self, name: str) -> Any:
        def send(account: Any, recipient: str, notice: Notice, identity: Any) -> str:
            with self.lock:
                self.calls.append((name, notice.ticket_id, recipient, notice.kind))
                outcome = self.script[name].pop(0) if self.script[name] else None
            if outcome is not None:
                raise outcome
            return f"{CHANNEL}:{name}"

        return send


WAYS = FakeWays()
SPEC = ChannelSpec(
    kind=CHANNEL,
    badge="测",
    label="测试渠道",
    senders=(("first", WAYS.sender("first")), ("second", WAYS.sender("second"))),
)


@pytest.fixture(autouse=True)
def fresh_ways(monkeypatch: pytest.MonkeyPatch) -> Any:
    WAYS.reset()
    monkeypatch.setenv("SMS_BACKEND", "log")
    channel_register(SPEC)
    yield WAYS
    channel_unregister(CHANNEL)


@pytest.fixture
def fake_ticket(db: Any) -> Any:
    """A ticket of the test channel, from a citizen known there (and by phone, or not)."""

    def make(phone: str = "13912345678") -> tuple[Ticket, OutboxMessage]:
        ChannelAccount.objects.get_or_create(kind=CHANNEL, slug="fake-account")
        result = services.intake_message(
            message=services.IncomingMessage(
                channel=CHANNEL,
                account="fake-account",
                sender_kind="wechat_openid",
                sender_id=f"o-{Citizen.objects.count()}",
                phone=phone,
                text="小区门口的路灯坏了一个多星期了，请尽快维修。",
                may_follow_up=False,
            )
        )
        ticket = result.ticket
        assert ticket is not None
        services.ticket_acknowledge(actor=None, ticket_id=ticket.pk)
        return ticket, OutboxMessage.objects.get(ticket=ticket)

    return make


def notices_of(ticket: Ticket) -> list[str]:
    return [
        row.payload["notice"]["kind"]
        for row in OutboxMessage.objects.filter(ticket=ticket).order_by("id")
    ]


# --- queueing ----------------------------------------------------------------------------


def test_it_queues_an_acknowledgement_notice_with_the_change(make_ticket, cast):
    ticket = make_ticket()
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    row = OutboxMessage.objects.get(ticket=ticket)
    event = TicketEvent.objects.get(ticket=ticket, kind="acknowledge")
    assert row.kind == "citizen_notice" and row.channel == "website"
    assert row.status == "pending" and row.idempotency_key == f"notice:{event.pk}"
    assert row.recipient == CitizenIdentity.objects.get(citizen=ticket.citizen).value
    assert row.payload["identity_kind"] == "phone"
    notice = row.payload["notice"]
    assert notice["kind"] == "acknowledged" and notice["case_no"] == ticket.case_no
    assert "已受理" in notice["text"] and ticket.case_no in notice["text"]
    assert notice["url"].endswith(f"/track/?case_no={ticket.case_no}")
    assert row.next_attempt_at is not None and row.next_attempt_at <= timezone.now()


def test_it_queues_nothing_when_the_change_rolls_back(make_ticket, cast):
    ticket = make_ticket()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
        assert OutboxMessage.objects.filter(ticket=ticket).count() == 1
        raise RuntimeError("the request failed later")
    assert not OutboxMessage.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).state == "new"


def test_it_queues_the_question_the_new_deadline_and_the_reply(make_ticket, cast, departments):
    ticket = walk(make_ticket(), cast, departments, "waiting_citizen")
    services.ticket_resume(actor=cast["handler_a"], ticket_id=ticket.pk)
    request = ticket_extension_request(
        actor=cast["handler_a"], ticket_id=ticket.pk, days=3, reason="需要协调供电公司"
    )
    ticket_extension_decide(actor=cast["supervisor_a"], request_id=request.pk, approve=True)
    services.ticket_reply(actor=cast["handler_a"], ticket_id=ticket.pk, content="路灯已修好。")
    assert notices_of(ticket) == ["acknowledged", "request_info", "extended", "replied"]
    rows = {
        row.payload["notice"]["kind"]: row.payload["notice"]
        for row in OutboxMessage.objects.filter(ticket=ticket)
    }
    assert "请提供具体位置" in rows["request_info"]["text"]
    ticket.refresh_from_db()
    assert f"{timezone.localtime(ticket.resolve_due_at):%Y-%m-%d}" in rows["extended"]["text"]
    assert "路灯已修好。" in rows["replied"]["text"]
    assert all(len(value) <= 20 for row in rows.values() for value in row["fields"].values())


def test_it_tells_hotline_callers_nothing_itself(make_ticket, cast):
    ticket = make_ticket(channel="hotline")
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    assert not OutboxMessage.objects.filter(kind="citizen_notice").exists()


# --- sending -----------------------------------------------------------------------------


def test_it_sends_through_the_first_way_of_the_channel(fake_ticket, fresh_ways):
    ticket, row = fake_ticket()
    report = outbox_process()
    row.refresh_from_db()
    assert row.status == "sent" and row.via == "fakechan:first" and row.attempts == 1
    assert row.sent_at is not None and row.last_error == ""
    assert fresh_ways.calls == [("first", ticket.pk, row.recipient, "acknowledged")]
    assert (
        report.handled["sent:fakechan:first"] == 1 and "sent:fakechan:first 1" in report.summary()
    )


def test_it_falls_back_on_permanent_errors_to_the_next_way_then_sms(
    fake_ticket, fresh_ways, caplog
):
    ticket, row = fake_ticket()
    fresh_ways.script["first"] = [DeliveryError("超过 48 小时", permanent=True)]
    outbox_process()
    row.refresh_from_db()
    assert row.via == "fakechan:second"
    assert [call[0] for call in fresh_ways.calls] == ["first", "second"]

    ticket, row = fake_ticket(phone="13912345678")
    fresh_ways.reset()
    fresh_ways.script["first"] = [DeliveryError("超过 48 小时", permanent=True)]
    fresh_ways.script["second"] = [DeliveryError("未配置模板", permanent=True)]
    with caplog.at_level(logging.INFO, logger="integrations.outbound.sms"):
        outbox_process()
    row.refresh_from_db()
    assert row.status == "sent" and row.via == "sms:log"
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text
    assert ticket.case_no not in caplog.text  # the log never carries the notice text


def test_it_marks_a_notice_undeliverable_and_tells_the_handler(fake_ticket, fresh_ways):
    ticket, row = fake_ticket(phone="")
    fresh_ways.script["first"] = [DeliveryError("已取消关注", permanent=True)]
    fresh_ways.script["second"] = [DeliveryError("已取消关注", permanent=True)]
    report = outbox_process()
    row.refresh_from_db()
    assert row.status == "undeliverable" and row.sent_at is None
    assert "已取消关注" in row.last_error
    event = TicketEvent.objects.get(ticket=ticket, kind="notice_undeliverable")
    assert event.payload["notice"] == "acknowledged" and event.payload["status"] == "undeliverable"
    assert report.handled["undeliverable"] == 1


def test_it_retries_transient_errors_with_backoff(fake_ticket, fresh_ways):
    with time_machine.travel(START, tick=False) as clock:
        _ticket, row = fake_ticket()
        fresh_ways.script["first"] = [DeliveryError("网络错误"), DeliveryError("网络错误")]
        outbox_process()
        row.refresh_from_db()
        assert row.status == "pending" and row.attempts == 1
        assert row.next_attempt_at == START + dt.timedelta(seconds=30)
        assert "网络错误" in row.last_error

        clock.shift(dt.timedelta(seconds=20))
        assert outbox_process().handled == {}
        clock.shift(dt.timedelta(seconds=11))
        outbox_process()
        row.refresh_from_db()
        assert row.attempts == 2
        assert row.next_attempt_at == timezone.now() + dt.timedelta(seconds=60)

        clock.shift(dt.timedelta(seconds=61))
        outbox_process()
        row.refresh_from_db()
        assert row.status == "sent" and row.attempts == 3 and row.via == "fakechan:first"
    assert [call[0] for call in fresh_ways.calls] == ["first"] * 3


def test_it_doubles_the_wait_up_to_an_hour():
    waits = [backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_it_gives_up_after_the_last_attempt(fake_ticket, fresh_ways, monkeypatch):
    monkeypatch.setattr(processor, "MAX_ATTEMPTS", 2)
    with time_machine.travel(START, tick=False) as clock:
        ticket, row = fake_ticket()
        fresh_ways.script["first"] = [DeliveryError("超时")] * 5
        outbox_process()
        clock.shift(dt.timedelta(minutes=2))
        outbox_process()
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == 2
    assert (
        TicketEvent.objects.get(ticket=ticket, kind="notice_undeliverable").payload["status"]
        == "failed"
    )


def test_it_sends_each_notice_once_when_run_twice(fake_ticket, fresh_ways):
    fake_ticket()
    fake_ticket()
    first = outbox_process()
    second = outbox_process()
    assert sum(first.handled.values()) == 2 and second.handled == {}
    assert len(fresh_ways.calls) == 2
    assert OutboxMessage.objects.filter(status="sent").count() == 2


def test_it_keeps_going_past_a_row_that_breaks(fake_ticket, fresh_ways):
    _broken_ticket, broken = fake_ticket()
    _ticket, row = fake_ticket()
    fresh_ways.script["first"] = [ValueError("a bug in a sender")]
    report = outbox_process()
    broken.refresh_from_db()
    row.refresh_from_db()
    assert report.failed == [broken.pk]
    assert broken.status == "pending" and "ValueError" in broken.last_error
    assert row.status == "sent"


def test_it_leaves_a_channel_kind_waiting_until_its_channel_is_registered(make_ticket):
    ticket = make_ticket(channel=CHANNEL)
    now = timezone.now()
    row = OutboxMessage.objects.create(
        kind="fakecb_callback",
        channel="fakecb",
        ticket=ticket,
        payload={"event": "accepted"},
        idempotency_key="callback:test",
        created_at=now,
        next_attempt_at=now,
    )
    outbox_process()
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 0 and row.next_attempt_at > now
    assert "未知的消息类型 fakecb_callback" in row.last_error

    sent: list[int] = []

    def handle(message: OutboxMessage) -> Result:
        sent.append(message.pk)
        return Result("sent", via="fakecb")

    spec = ChannelSpec(
        kind="fakecb", badge="回", label="回告", outbox_handlers=(("fakecb_callback", handle),)
    )
    channel_register(spec)
    try:
        outbox_process(now=now + dt.timedelta(minutes=2))
    finally:
        channel_unregister("fakecb")
    row.refresh_from_db()
    assert sent == [row.pk] and row.status == "sent" and row.via == "fakecb"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_notice_once(fake_ticket, fresh_ways):
    rows = [fake_ticket()[1] for _ in range(12)]
    run_together(outbox_process, outbox_process)
    sent_to = sorted(call[1] for call in fresh_ways.calls)
    assert sent_to == sorted(row.ticket_id for row in rows)
    assert OutboxMessage.objects.filter(status="sent", attempts=1).count() == len(rows)


def test_the_identity_of_the_channel_is_the_recipient(fake_ticket):
    ticket, row = fake_ticket()
    identity = CitizenIdentity.objects.get(citizen=ticket.citizen)
    assert row.recipient == identity.value and row.account is not None
    assert row.payload["identity_kind"] == "wechat_openid"
