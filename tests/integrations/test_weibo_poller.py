"""Weibo poller and transport against a fake Weibo API on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.utils import timezone

import integrations.weibo.transport  # noqa: F401 - registers the notice sender
from integrations.accounts import channel_account_save
from integrations.models import ChannelAccount, InboundMessage, OutboxMessage
from integrations.outbound.base import DeliveryError, Notice, notice_senders
from integrations.weibo import poller, transport
from tickets.models import CitizenIdentity, Ticket

OUR_UID = 7208841469
BIG = 2**53  # ids beyond a float's exact range
MENTION_ID = BIG + 11
COMMENT_ID = BIG + 23


@dataclass
class FakeWeibo:
    """What the fake API serves and what it was asked."""

    mentions: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    honour_since_id: bool = True
    broken: str = ""  # path answered with a bad body
    status: int = 200  # status of POST answers
    error_body: str = ""
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    base: str = ""


def status(item_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "idstr": str(item_id),
        "created_at": timezone.localtime().strftime("%a %b %d %H:%M:%S %z %Y"),
        "text": text,
        "user": {"id": user_id, "idstr": str(user_id), "screen_name": f"市民{user_id % 1000}"},
    }


def comment(item_id: int, user_id: int, text: str, on: int) -> dict[str, Any]:
    return {**status(item_id, user_id, text), "status": {"id": on, "idstr": str(on)}}


@pytest.fixture
def fake() -> Iterator[FakeWeibo]:
    state = FakeWeibo()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, code: int, body: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            state.requests.append(("GET", url.path, query))
            if url.path.endswith(state.broken or "\0"):
                self._answer(200, '{"statuses": [')
                return
            since = int(query.get("since_id", ["0"])[0]) if state.honour_since_id else 0
            max_id = int(query.get("max_id", ["0"])[0])
            count = int(query.get("count", ["20"])[0])

            def page(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
                chosen = [i for i in items if i["id"] > since and (not max_id or i["id"] <= max_id)]
                return sorted(chosen, key=lambda i: -i["id"])[:count]  # newest first, like Weibo

            if url.path == "/2/statuses/mentions.json":
                self._answer(200, json.dumps({"statuses": page(state.mentions)}))
            elif url.path == "/2/comments/to_me.json":
                self._answer(200, json.dumps({"comments": page(state.comments)}))
            else:
                self._answer(404, '{"error": "not found", "error_code": 10014}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            state.requests.append(("POST", urlparse(self.path).path, form))
            self._answer(state.status, state.error_body or '{"result": true}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}/2"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def make_account(slug: str, base: str, **config: Any) -> ChannelAccount:
    account, _ = channel_account_save(
        kind="weibo",
        slug=slug,
        values={"uid": str(OUR_UID), "app_key": "1", "app_secret": "s", "access_token": "tok-1"},
    )
    account.config = {**account.config, "api_base": base, **config}
    account.save()
    return account


@pytest.fixture
def account(db: Any, fake: FakeWeibo) -> ChannelAccount:
    return make_account("qingshan-weibo", fake.base)


def fill(fake: FakeWeibo) -> None:
    fake.mentions = [
        status(MENTION_ID, 1601023054, "@青山区政务微博 和平公园东门的健身器材坏了，扶手断了。")
    ]
    fake.comments = [
        comment(
            COMMENT_ID, 9844179188, "光谷大道绿化带里有人倾倒建筑垃圾，已经堆成小山了。", on=BIG + 1
        ),
        comment(COMMENT_ID + 1, OUR_UID, "感谢反映，已转交。", on=BIG + 1),  # our own reply
    ]


def gets(fake: FakeWeibo, path: str) -> list[dict[str, list[str]]]:
    return [q for method, p, q in fake.requests if method == "GET" and p == path]


# --- polling ----------------------------------------------------------------------------------


def test_it_takes_in_mentions_and_comments_and_stores_cursors(
    fake: FakeWeibo, account: ChannelAccount
) -> None:
    fill(fake)
    result = poller.poll_all()
    assert (result.accounts, result.handled, result.failed) == (1, 2, 0)
    tickets = {t.content: t for t in Ticket.objects.all()}
    assert len(tickets) == 2
    assert all(t.channel == "weibo" and t.state == "new" for t in tickets.values())
    keys = set(InboundMessage.objects.values_list("dedupe_key", flat=True))
    assert keys == {f"status:{MENTION_ID}", f"comment:{COMMENT_ID}"}
    account.refresh_from_db()
    assert account.state["mentions_since_id"] == str(MENTION_ID)
    assert account.state["comments_since_id"] == str(COMMENT_ID + 1)
    identity = CitizenIdentity.objects.get(value="1601023054")
    assert (identity.kind, identity.account) == ("weibo_uid", "qingshan-weibo")
    assert gets(fake, "/2/statuses/mentions.json")[0]["access_token"] == ["tok-1"]


def test_it_queues_one_comment_reply_with_case_number_and_link(
    fake: FakeWeibo, account: ChannelAccount
) -> None:
    fill(fake)
    poller.poll_all()
    rows = {row.payload["target"]: row for row in OutboxMessage.objects.all()}
    assert set(rows) == {"status", "comment"}
    mention = rows["status"]
    ticket = Ticket.objects.get(pk=mention.ticket_id)
    assert mention.kind == "weibo_comment_reply" and mention.status == "pending"
    assert mention.payload["id"] == str(MENTION_ID)
    assert (
        ticket.case_no in mention.payload["text"] and "/track/?case_no=" in mention.payload["text"]
    )
    assert len(mention.payload["text"]) <= 140
    assert mention.idempotency_key == f"weibo_comment_reply:qingshan-weibo:status:{MENTION_ID}"
    reply = rows["comment"]
    assert (reply.payload["cid"], reply.payload["id"]) == (str(COMMENT_ID), str(BIG + 1))
    assert reply.recipient == "9844179188"


def test_it_creates_nothing_on_a_second_poll_of_the_same_data(
    fake: FakeWeibo, account: ChannelAccount
) -> None:
    fill(fake)
    poller.poll_all()
    fake.honour_since_id = False  # the API sends everything again
    counts = (Ticket.objects.count(), InboundMessage.objects.count(), OutboxMessage.objects.count())
    result = poller.poll_all()
    assert result.failed == 0
    assert (
        Ticket.objects.count(),
        InboundMessage.objects.count(),
        OutboxMessage.objects.count(),
    ) == counts
    assert gets(fake, "/2/statuses/mentions.json")[1]["since_id"] == [str(MENTION_ID)]
    assert gets(fake, "/2/comments/to_me.json")[1]["since_id"] == [str(COMMENT_ID + 1)]


def test_it_logs_a_bad_answer_and_keeps_the_cursor(
    fake: FakeWeibo, account: ChannelAccount, caplog: pytest.LogCaptureFixture
) -> None:
    fill(fake)
    fake.broken = "mentions.json"
    with caplog.at_level(logging.WARNING, logger="integrations.weibo.poller"):
        result = poller.poll_all()
    assert result.failed == 1
    assert "statuses/mentions.json" in caplog.text
    account.refresh_from_db()
    assert "mentions_since_id" not in account.state
    assert account.state["comments_since_id"] == str(COMMENT_ID + 1)  # the other source went on
    assert not InboundMessage.objects.filter(dedupe_key__startswith="status:").exists()
    fake.broken = ""
    poller.poll_all()
    account.refresh_from_db()
    assert account.state["mentions_since_id"] == str(MENTION_ID)
    assert Ticket.objects.count() == 2


def test_it_keeps_the_cursor_when_the_api_is_unreachable(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    account = make_account("down", f"http://127.0.0.1:{port}/2")
    with caplog.at_level(logging.WARNING, logger="integrations.weibo.poller"):
        result = poller.poll_all()
    assert result.failed == 2
    account.refresh_from_db()
    assert "mentions_since_id" not in account.state and "comments_since_id" not in account.state


def test_it_skips_inactive_accounts_tokenless_ones_and_those_not_due(
    fake: FakeWeibo, db: Any
) -> None:
    fill(fake)
    inactive = make_account("inactive", fake.base)
    ChannelAccount.objects.filter(pk=inactive.pk).update(active=False)
    tokenless = make_account("tokenless", fake.base)
    tokenless.secrets = {**tokenless.secrets, "access_token": ""}
    tokenless.save()
    slow = make_account("slow", fake.base, poll_interval="600")
    assert poller.poll_all().accounts == 1
    assert Ticket.objects.count() == 2
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        assert poller.poll_all().accounts == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        assert poller.poll_all().accounts == 1
    slow.refresh_from_db()
    assert slow.state["mentions_since_id"] == str(MENTION_ID)


def test_it_pages_back_to_the_cursor(
    fake: FakeWeibo, account: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller, "PAGE_SIZE", 2)
    fake.mentions = [status(BIG + n, 1000 + n, f"第{n}条：路灯坏了") for n in range(1, 7)]
    items = poller.fetch_items(
        account=account, kind="status", path="statuses/mentions.json", since_id=BIG + 1
    )
    assert [item.id for item in items] == [BIG + n for n in range(2, 7)]  # oldest first
    pages = gets(fake, "/2/statuses/mentions.json")
    assert [q.get("max_id") for q in pages] == [None, [str(BIG + 4)], [str(BIG + 2)]]


# --- comment replies --------------------------------------------------------------------------


def test_it_sends_a_comment_reply_and_a_mention_comment(
    fake: FakeWeibo, account: ChannelAccount
) -> None:
    fill(fake)
    poller.poll_all()
    rows = {row.payload["target"]: row for row in OutboxMessage.objects.all()}
    assert transport.comment_reply_send(rows["comment"]) == "weibo:comment_reply"
    assert transport.comment_reply_send(rows["status"]) == "weibo:comment_create"
    posts = {path: form for method, path, form in fake.requests if method == "POST"}
    reply = posts["/2/comments/reply.json"]
    assert reply["cid"] == [str(COMMENT_ID)] and reply["id"] == [str(BIG + 1)]
    assert reply["access_token"] == ["tok-1"]
    created = posts["/2/comments/create.json"]
    assert created["id"] == [str(MENTION_ID)]
    assert Ticket.objects.get(pk=rows["status"].ticket_id).case_no in created["comment"][0]


def test_it_gives_up_on_a_mention_reply_after_48_hours(
    fake: FakeWeibo, account: ChannelAccount
) -> None:
    fill(fake)
    poller.poll_all()
    row = OutboxMessage.objects.get(payload__target="status")
    with (
        time_machine.travel(timezone.now() + dt.timedelta(hours=49)),
        pytest.raises(DeliveryError) as caught,
    ):
        transport.comment_reply_send(row)
    assert caught.value.permanent
    assert not [p for m, p, _ in fake.requests if m == "POST"]


def test_it_sends_queued_comment_replies_through_the_outbox_worker(
    fake: FakeWeibo, account: ChannelAccount
) -> None:
    from integrations.outbound.processor import outbox_process

    fill(fake)
    poller.poll_all()
    report = outbox_process()
    assert report.handled["sent:weibo:comment_reply"] == 1
    assert report.handled["sent:weibo:comment_create"] == 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    fake.honour_since_id = False
    poller.poll_all()  # the same items again: no second reply
    assert outbox_process().handled == {}
    assert len([p for m, p, _ in fake.requests if m == "POST"]) == 2


# --- private messages -------------------------------------------------------------------------


def notice() -> Notice:
    return Notice(
        ticket_id=1,
        case_no="20260512000001",
        kind="replied",
        text="您的诉求 20260512000001 已答复：健身器材已修复。",
        url="http://127.0.0.1:8000/track/?case_no=20260512000001",
    )


def identity(
    account: ChannelAccount, *, hours_ago: float = 1, subscribed: bool = True
) -> CitizenIdentity:
    from tickets.models import Citizen

    return CitizenIdentity.objects.create(
        citizen=Citizen.objects.create(),
        kind="weibo_uid",
        account=account.slug,
        value=str(BIG + 7),
        subscribed=subscribed,
        last_seen_at=timezone.now() - dt.timedelta(hours=hours_ago),
    )


def test_it_registers_the_private_message_sender() -> None:
    assert ("weibo_message", transport.weibo_message_send) in notice_senders("weibo")


def test_it_sends_a_private_message_within_48_hours(
    fake: FakeWeibo, account: ChannelAccount
) -> None:
    who = identity(account, hours_ago=47)
    assert transport.weibo_message_send(account, who.value, notice(), who) == "weibo:message"
    method, path, form = fake.requests[-1]
    assert (method, path) == ("POST", "/2/messages/reply.json")
    assert form["receiver_id"] == [str(BIG + 7)] and form["type"] == ["text"]
    text = json.loads(form["data"][0])["text"]
    assert "20260512000001" in text and "/track/?case_no=" in text


def test_it_will_not_message_a_phone_identity(fake: FakeWeibo, account: ChannelAccount) -> None:
    who = identity(account)
    CitizenIdentity.objects.filter(pk=who.pk).update(kind="phone", value="13800000001")
    who.refresh_from_db()
    with pytest.raises(DeliveryError) as caught:
        transport.weibo_message_send(account, who.value, notice(), who)
    assert caught.value.permanent and fake.requests == []


def test_it_finds_the_account_by_slug(fake: FakeWeibo, account: ChannelAccount) -> None:
    who = identity(account)
    assert transport.weibo_message_send(account.slug, who.value, notice(), who) == "weibo:message"


@pytest.mark.parametrize(("hours_ago", "subscribed"), [(49, True), (1, False)])
def test_it_refuses_outside_the_window_or_after_an_unfollow(
    fake: FakeWeibo, account: ChannelAccount, hours_ago: float, subscribed: bool
) -> None:
    who = identity(account, hours_ago=hours_ago, subscribed=subscribed)
    with pytest.raises(DeliveryError) as caught:
        transport.weibo_message_send(account, who.value, notice(), who)
    assert caught.value.permanent
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status_code", "body", "permanent"),
    [
        (400, '{"error": "expired_token", "error_code": 21327}', True),
        (403, '{"error": "user not follow you", "error_code": 20523}', True),
        (403, '{"error": "out of rate limit", "error_code": 10023}', False),
        (503, "Service Unavailable", False),
        (200, '{"error": "permission denied", "error_code": 10014}', True),
        (200, "<html>busy</html>", False),
    ],
)
def test_it_tells_permanent_from_transient_api_errors(
    fake: FakeWeibo, account: ChannelAccount, status_code: int, body: str, permanent: bool
) -> None:
    fake.status, fake.error_body = status_code, body
    who = identity(account)
    with pytest.raises(DeliveryError) as caught:
        transport.weibo_message_send(account, who.value, notice(), who)
    assert caught.value.permanent is permanent


def test_it_retries_later_when_the_api_is_unreachable(db: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    account = make_account("down", f"http://127.0.0.1:{port}/2")
    who = identity(account)
    with pytest.raises(DeliveryError) as caught:
        transport.weibo_message_send(account, who.value, notice(), who)
    assert not caught.value.permanent
