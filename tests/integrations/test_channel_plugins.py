"""Channels as plugins: a channel is one package that declares a ``ChannelSpec``.

The echo channel (tests/integrations/echo_channel/) is named by no module of the project: it
is registered by the ``echo_channel`` fixture only, and from then on it takes messages in
through intake, tells its citizens through its own sender (not SMS), shows its badge in the
inbox, has its account fields in the admin form and the ``channel_account`` command, replays
from the spool, is recovered from the journal and has its polling job scheduled. A channel
value without a spec stops the start (a system check), rather than falling back to SMS."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test import Client, RequestFactory

from config import jobs
from config.celery import app
from integrations import journal, recovery, spool
from integrations.checks import channel_specs_check
from integrations.models import ChannelAccount, InboundMessage, OutboxMessage
from integrations.outbound.processor import outbox_process
from integrations.registry import (
    ChannelSpec,
    channel_register,
    channel_spec,
    channel_specs,
    channel_unregister,
)
from tests.integrations.echo_channel import transport
from tickets import services
from tickets.models import CitizenIdentity, Ticket

KEY = "echo-secret-key"


@pytest.fixture
def account(echo_channel: ChannelSpec, db: Any) -> ChannelAccount:
    call_command(
        "channel_account",
        "echo",
        "--slug",
        "echo-1",
        "--endpoint",
        "https://echo.example.cn/push",
        "--echo-key",
        KEY,
    )
    return ChannelAccount.objects.get(slug="echo-1")


def push(message_id: str, text: str, *, user: str = "u-1", phone: str = "") -> Any:
    body = {"id": message_id, "user": user, "text": text, "phone": phone}
    return Client().post(
        "/integrations/echo/echo-1/messages",
        json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        HTTP_X_ECHO_KEY=KEY,
    )


TEXT = "人民路和解放路路口的红绿灯坏了两天了，早晚高峰很危险。"


def test_it_takes_a_message_in_through_intake(account: ChannelAccount) -> None:
    response = push("m-1", TEXT)
    assert response.status_code == 200, response.content
    answer = response.json()
    ticket = Ticket.objects.get()
    assert answer["action"] == "created" and answer["case_no"] == ticket.case_no
    assert ticket.channel == "echo" and ticket.channel_account == "echo-1"
    assert ticket.get_channel_display() == "回声"
    identity = CitizenIdentity.objects.get(citizen=ticket.citizen)
    assert (identity.kind, identity.value, identity.get_kind_display()) == (
        "echo_user",
        "u-1",
        "回声用户",
    )
    inbound = InboundMessage.objects.get()
    assert (inbound.channel, inbound.status, inbound.ticket_id) == ("echo", "processed", ticket.pk)
    assert push("m-1", TEXT).json()["case_no"] == ticket.case_no  # a retry makes nothing
    assert Ticket.objects.count() == 1
    wrong_key = Client().post(
        "/integrations/echo/echo-1/messages", "{}", content_type="application/json"
    )
    assert wrong_key.status_code == 403


def test_it_tells_the_citizen_through_its_own_sender_not_sms(
    account: ChannelAccount, cast: dict[str, Any]
) -> None:
    push("m-1", TEXT, phone="13912345678")  # a phone number: SMS would be possible
    ticket = Ticket.objects.get()
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    row = OutboxMessage.objects.get(ticket=ticket)
    assert (row.channel, row.account, row.recipient) == ("echo", account, "u-1")
    assert row.payload["identity_kind"] == "echo_user"
    outbox_process()
    row.refresh_from_db()
    assert (row.status, row.via) == ("sent", "echo:reply")
    assert transport.SENT == [("echo-1", "u-1", "acknowledged", row.payload["notice"]["text"])]
    assert ticket.case_no in transport.SENT[0][3]


def test_it_asks_its_citizens_to_answer_by_replying(
    account: ChannelAccount, cast: dict[str, Any], departments: Any
) -> None:
    push("m-1", TEXT)
    ticket = Ticket.objects.get()
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["a"].pk
    )
    services.ticket_accept(actor=cast["handler_a"], ticket_id=ticket.pk)
    services.ticket_request_info(
        actor=cast["handler_a"], ticket_id=ticket.pk, question="哪个路口？"
    )
    asked = OutboxMessage.objects.get(ticket=ticket, payload__notice__kind="request_info")
    assert "请直接回复本消息" in asked.payload["notice"]["text"]
    reply = push("m-2", "人民路口，靠近百货大楼。")
    assert reply.json()["action"] == "follow_up"
    ticket.refresh_from_db()
    assert ticket.state == "in_progress"


def test_it_shows_its_badge_and_name_in_the_inbox_and_on_the_ticket_page(
    account: ChannelAccount, cast: dict[str, Any]
) -> None:
    push("m-1", TEXT)
    ticket = Ticket.objects.get()
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    outbox_process()
    client = Client()
    client.force_login(cast["dispatcher"])
    queue = client.get("/inbox/").content.decode()
    assert (
        '<td class="channel" data-label="渠道" title="回声">'
        '<span class="channel-icon channel-echo" aria-hidden="true">回</span>'
    ) in queue
    assert '<option value="echo">回声</option>' in queue  # the channel filter
    filtered = client.get("/inbox/", {"channel": "echo"}).content.decode()
    assert ticket.case_no in filtered
    page = client.get(f"/inbox/tickets/{ticket.case_no}/").content.decode()
    assert '<span class="channel-icon channel-echo" aria-hidden="true">回</span> 回声' in page
    assert "回声回复" in page  # how the acknowledgement went out


def test_it_has_its_account_fields_in_the_admin_form(
    echo_channel: ChannelSpec, cast: dict[str, Any]
) -> None:
    client = Client()
    client.force_login(cast["admin"])
    form = client.get("/admin/integrations/channelaccount/add/").content.decode()
    assert '<option value="echo">回声账号</option>' in form
    assert "回发地址（回声）" in form and 'name="endpoint"' in form
    assert "签名密钥（回声）" in form and 'type="password" name="echo_key"' in form
    bad = client.post(
        "/admin/integrations/channelaccount/add/",
        {"kind": "echo", "slug": "echo-2", "endpoint": "http://x", "echo_key": KEY, "active": "on"},
    )
    assert bad.status_code == 200 and "回发地址应为 https:// 开头的完整地址" in bad.content.decode()
    assert not ChannelAccount.objects.filter(slug="echo-2").exists()
    saved = client.post(
        "/admin/integrations/channelaccount/add/",
        {
            "kind": "echo",
            "slug": "echo-2",
            "endpoint": "https://echo.example.cn/",
            "echo_key": KEY,
            "active": "on",
        },
    )
    assert saved.status_code == 302
    account = ChannelAccount.objects.get(slug="echo-2")
    assert account.config == {"endpoint": "https://echo.example.cn/"}
    assert account.secret("echo_key") == KEY
    listing = client.get("/admin/integrations/channelaccount/").content.decode()
    assert KEY not in listing


def test_it_has_its_account_options_in_the_command(
    echo_channel: ChannelSpec, db: Any, capsys: Any
) -> None:
    call_command("channel_account", "echo", "--slug", "e", "--echo-key", KEY)
    assert KEY not in capsys.readouterr().out
    assert ChannelAccount.objects.get(slug="e").secrets == {"echo_key": KEY}
    with pytest.raises(CommandError, match="--echo-key：签名密钥至少 8 个字符"):
        call_command("channel_account", "echo", "--slug", "e", "--echo-key", "short")
    with pytest.raises(CommandError, match="echo 账号不接受选项：--secret"):
        call_command("channel_account", "echo", "--slug", "e", "--secret", "s")
    with pytest.raises(CommandError, match="hotline 账号不接受选项：--endpoint"):
        call_command("channel_account", "hotline", "--slug", "h", "--endpoint", "https://x")


def test_it_schedules_its_polling_job(echo_channel: ChannelSpec, db: Any) -> None:
    assert "echo-poll" in {job.name for job in jobs.jobs_all()}
    assert app.conf.beat_schedule["echo-poll"]["schedule"] == 30.0
    assert jobs.job_run("echo-poll").handled == 1 and transport.POLLS == [1]


def test_it_forgets_the_channel_with_its_registration(echo_channel: ChannelSpec) -> None:
    channel_unregister("echo")
    try:
        assert "echo-poll" not in app.conf.beat_schedule
        assert "echo" not in {spec.kind for spec in channel_specs()}
    finally:
        channel_register(echo_channel)


def test_it_replays_its_spooled_pushes(
    account: ChannelAccount, settings: Any, tmp_path: Any
) -> None:
    settings.INBOUND_SPOOL_DIR = tmp_path
    body = json.dumps({"id": "m-9", "user": "u-9", "text": TEXT}, ensure_ascii=False)
    request = RequestFactory().post(
        "/integrations/echo/echo-1/messages",
        body,
        content_type="application/json",
        HTTP_X_ECHO_KEY=KEY,
    )
    spool.spool_write(request, channel="echo", slug="echo-1", verified=True)
    # The key header is one the spec asked the spool to keep: the replay checks it again.
    result = spool.spool_drain()
    assert (result.replayed, result.failed) == (1, 0)
    assert Ticket.objects.get().channel == "echo"


def test_it_takes_a_stuck_journal_row_in_again(account: ChannelAccount) -> None:
    body = json.dumps({"id": "m-5", "user": "u-5", "text": TEXT}, ensure_ascii=False).encode()
    row, _created = journal.journal_store(
        channel="echo", dedupe_key="echo-1:m-5", raw_body=body, account="echo-1"
    )
    InboundMessage.objects.filter(pk=row.pk).update(
        received_at=row.received_at - recovery.STUCK_AFTER * 2
    )
    assert recovery.journal_recover().recovered == 1
    row.refresh_from_db()
    assert row.status == "processed" and row.ticket is not None
    # The answer that never reached the citizen goes out through the channel's own sender.
    outbox_process()
    assert [kind for _slug, _to, kind, _text in transport.SENT] == ["received"]


def test_it_stops_the_start_when_a_channel_value_has_no_spec(db: Any) -> None:
    assert channel_specs_check() == []
    wechat = channel_spec("wechat")
    channel_unregister("wechat")
    try:
        errors = channel_specs_check()
        assert [error.id for error in errors] == ["integrations.E001"]
        assert "渠道 wechat（微信）没有注册 ChannelSpec" in errors[0].msg
        with pytest.raises(SystemCheckError, match=r"integrations\.E001"):
            call_command("check")
    finally:
        channel_register(wechat)
    call_command("check")


def test_it_sends_no_sms_for_a_channel_without_a_spec_and_logs_why(
    make_ticket: Any, cast: dict[str, Any], caplog: Any
) -> None:
    ticket = make_ticket(channel="echo")  # no spec: the echo channel is not registered here
    with caplog.at_level(logging.ERROR, logger="integrations.outbound.notices"):
        services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    assert not OutboxMessage.objects.filter(ticket=ticket).exists()  # not an SMS
    assert "channel 'echo' has no ChannelSpec" in caplog.text


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ChannelSpec(kind="Echo!", badge="回", label="x"), "渠道标识"),
        (ChannelSpec(kind="echo", badge="回声", label="x"), "标记应为一个字符"),
        (ChannelSpec(kind="wechat", badge="微"), "已经注册过"),
        (
            ChannelSpec(
                kind="echo2",
                badge="回",
                label="x",
                outbox_handlers=(("weibo_comment_reply", lambda row: None),),
            ),
            "待发消息类型已被其他渠道使用",
        ),
    ],
)
def test_it_refuses_a_malformed_or_second_spec(spec: ChannelSpec, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        channel_register(spec)
