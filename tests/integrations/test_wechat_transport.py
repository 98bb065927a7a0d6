"""The WeChat transport against a fake WeChat API on 127.0.0.1: token caching, error mapping,
customer-service and template messages, and the registration with the outbox worker."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.models import ChannelAccount
from integrations.outbound.base import DeliveryError, Notice, notice_senders
from integrations.wechat import transport
from tickets.models import Citizen, CitizenIdentity

OPENID = "oqe-2e5mTBGxyY4myUNL0E7mcCsp"
APP_ID = "wx4a3893e2b06db30f"


class FakeWeChat:
    """Records every request; answers from ``answers[path]`` (a list, one per call)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, list[str]], Any]] = []
        self.answers: dict[str, list[Any]] = {}
        self.tokens = 0

    def answer(self, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, bytes]:
        self.calls.append((path, query, body))
        queued = self.answers.get(path)
        if queued:
            status, payload = queued.pop(0)
            return status, json.dumps(payload).encode()
        if path == "/cgi-bin/token":
            self.tokens += 1
            token = {"access_token": f"TOKEN-{self.tokens}", "expires_in": 7200}
            return 200, json.dumps(token).encode()
        return 200, json.dumps({"errcode": 0, "errmsg": "ok", "msgid": 1}).encode()

    def paths(self) -> list[str]:
        return [path for path, _query, _body in self.calls]


@pytest.fixture
def fake() -> Iterator[tuple[FakeWeChat, str]]:
    state = FakeWeChat()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, body: Any) -> None:
            url = urlparse(self.path)
            status, payload = state.answer(url.path, parse_qs(url.query), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._reply(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._reply(json.loads(self.rfile.read(length) or b"null"))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy_and_own_cache_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh AppID per test, so a shared Redis never hands one test another's token (and
    the cache need not be flushed under other test runs)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    app_id = f"wx{uuid.uuid4().hex[:16]}"
    monkeypatch.setattr(sys.modules[__name__], "APP_ID", app_id)
    yield
    cache.delete_many([f"wechat:session:{app_id}_access_token", f"wechat:token-lock:{app_id}"])


def make_account(api_base: str, **config: Any) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind="wechat",
        slug="qingshan-wx",
        config={"mode": "plain", "app_id": APP_ID, "api_base": api_base, **config},
        secrets={"app_secret": "f8592ed5a8f4aec0aeebf2a1fcce302a", "token": "t"},
    )


def make_identity(*, hours_ago: float = 1, subscribed: bool = True) -> CitizenIdentity:
    return CitizenIdentity.objects.create(
        citizen=Citizen.objects.create(),
        kind=CitizenIdentity.Kind.WECHAT_OPENID,
        account="qingshan-wx",
        value=OPENID,
        subscribed=subscribed,
        last_seen_at=timezone.now() - dt.timedelta(hours=hours_ago),
    )


def notice(**extra: Any) -> Notice:
    return Notice(
        ticket_id=1,
        case_no="20260512000001",
        kind="acknowledged",
        text="您的诉求 20260512000001 已受理，我们会尽快办理。",
        url="http://127.0.0.1:8000/track/?case_no=20260512000001",
        **extra,
    )


def test_it_registers_custom_then_template_for_wechat() -> None:
    names = [name for name, _sender in notice_senders("wechat")]
    assert names[:2] == ["wechat_custom", "wechat_template"]


@pytest.mark.django_db
def test_it_fetches_one_token_for_two_sends(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    account, identity = make_account(base), make_identity()

    assert transport.send_custom(account, OPENID, notice(), identity) == "wechat:custom"
    assert transport.send_custom(account, OPENID, notice(), identity) == "wechat:custom"

    assert state.paths() == [
        "/cgi-bin/token",
        "/cgi-bin/message/custom/send",
        "/cgi-bin/message/custom/send",
    ]
    _path, token_query, _ = state.calls[0]
    assert token_query["appid"] == [APP_ID]
    assert token_query["grant_type"] == ["client_credential"]
    for _path, query, body in state.calls[1:]:
        assert query["access_token"] == ["TOKEN-1"]
        assert body["touser"] == OPENID
        assert body["msgtype"] == "text"
        assert "20260512000001" in body["text"]["content"]
        assert "/track/?case_no=20260512000001" in body["text"]["content"]


@pytest.mark.django_db
def test_it_shares_the_token_through_the_cache(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    account = make_account(base)
    first = transport.client_for(account)
    second = transport.client_for(account)  # another worker: a fresh client object

    assert first.access_token == "TOKEN-1"
    assert second.access_token == "TOKEN-1"
    assert state.tokens == 1


@pytest.mark.django_db
@pytest.mark.parametrize("code", [45015, 45047, 43004])
def test_it_maps_window_count_and_unsubscribed_errors_to_permanent(
    fake: tuple[FakeWeChat, str], code: int
) -> None:
    state, base = fake
    state.answers["/cgi-bin/message/custom/send"] = [(200, {"errcode": code, "errmsg": "no"})]

    with pytest.raises(DeliveryError) as caught:
        transport.send_custom(make_account(base), OPENID, notice(), make_identity())

    assert caught.value.permanent is True
    assert str(code) in str(caught.value)


@pytest.mark.django_db
def test_it_maps_a_busy_wechat_to_a_retry(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    state.answers["/cgi-bin/message/custom/send"] = [(200, {"errcode": -1, "errmsg": "busy"})]

    with pytest.raises(DeliveryError) as caught:
        transport.send_custom(make_account(base), OPENID, notice(), make_identity())

    assert caught.value.permanent is False


@pytest.mark.django_db
def test_it_maps_an_http_error_to_a_retry(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    state.answers["/cgi-bin/message/custom/send"] = [(502, {"error": "bad gateway"})]

    with pytest.raises(DeliveryError) as caught:
        transport.send_custom(make_account(base), OPENID, notice(), make_identity())

    assert caught.value.permanent is False


@pytest.mark.django_db
def test_it_maps_a_network_error_to_a_retry_without_leaking_the_secret() -> None:
    # Nothing listens on port 9 of 127.0.0.1: the token fetch cannot connect.
    account = make_account("http://127.0.0.1:9")

    with pytest.raises(DeliveryError) as caught:
        transport.send_custom(account, OPENID, notice(), make_identity())

    assert caught.value.permanent is False
    assert "f8592ed5" not in str(caught.value)


@pytest.mark.django_db
def test_it_waits_for_the_token_another_worker_is_fetching(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    client = transport.client_for(make_account(base))
    cache.add(f"wechat:token-lock:{client.appid}", 1, timeout=30)  # the other worker's lock
    storage = transport.CacheSessionStorage()
    threading.Timer(0.3, lambda: storage.set(client.access_token_key, "THEIRS", 7200)).start()

    assert client.access_token == "THEIRS"
    assert state.tokens == 0


@pytest.mark.django_db
def test_it_refreshes_an_expired_token_once(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    state.answers["/cgi-bin/message/custom/send"] = [(200, {"errcode": 40001, "errmsg": "bad"})]

    transport.send_custom(make_account(base), OPENID, notice(), make_identity())

    assert state.tokens == 2
    assert state.calls[-1][1]["access_token"] == ["TOKEN-2"]


@pytest.mark.django_db
def test_it_refuses_a_custom_message_outside_48_hours_without_calling(
    fake: tuple[FakeWeChat, str],
) -> None:
    state, base = fake

    with pytest.raises(DeliveryError) as caught:
        transport.send_custom(make_account(base), OPENID, notice(), make_identity(hours_ago=49))

    assert caught.value.permanent is True
    assert state.calls == []


@pytest.mark.django_db
def test_it_skips_an_unsubscribed_citizen_without_calling(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    identity = make_identity(subscribed=False)

    for sender in (transport.send_custom, transport.send_template):
        with pytest.raises(DeliveryError) as caught:
            sender(make_account(base, template_id="TPL-1"), OPENID, notice(), identity)
        assert caught.value.permanent is True
        ChannelAccount.objects.all().delete()
    assert state.calls == []


@pytest.mark.django_db
def test_it_sends_a_template_message_with_short_fields(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    account = make_account(base, template_id="TPL-ack-1")
    fields = {
        "keyword1": "20260512000001",
        "keyword2": "已受理，正在安排相关部门尽快上门处理路灯问题",
    }

    assert (
        transport.send_template(
            account, OPENID, notice(fields=fields), make_identity(hours_ago=100)
        )
        == "wechat:template"
    )

    path, query, body = state.calls[-1]
    assert path == "/cgi-bin/message/template/send"
    assert query["access_token"] == ["TOKEN-1"]
    assert body["touser"] == OPENID
    assert body["template_id"] == "TPL-ack-1"
    assert body["url"].endswith("/track/?case_no=20260512000001")
    assert body["data"]["keyword1"] == {"value": "20260512000001"}
    assert len(body["data"]["keyword2"]["value"]) == 20
    assert body["data"]["keyword2"]["value"].endswith("…")


@pytest.mark.django_db
def test_it_refuses_a_template_message_without_a_template(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake

    with pytest.raises(DeliveryError) as caught:
        transport.send_template(make_account(base), OPENID, notice(), make_identity())

    assert caught.value.permanent is True
    assert state.calls == []


@pytest.mark.django_db
def test_it_maps_a_template_error_to_permanent(fake: tuple[FakeWeChat, str]) -> None:
    state, base = fake
    state.answers["/cgi-bin/message/template/send"] = [(200, {"errcode": 43004, "errmsg": "x"})]

    with pytest.raises(DeliveryError) as caught:
        transport.send_template(
            make_account(base, template_id="TPL-1"), OPENID, notice(), make_identity()
        )

    assert caught.value.permanent is True


@pytest.mark.django_db
def test_it_refuses_an_account_without_app_secret(fake: tuple[FakeWeChat, str]) -> None:
    _state, base = fake
    account = make_account(base)
    account.secrets = {}
    account.save()

    with pytest.raises(DeliveryError) as caught:
        transport.send_custom(account, OPENID, notice(), make_identity())

    assert caught.value.permanent is True
