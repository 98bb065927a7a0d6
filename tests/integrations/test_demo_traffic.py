"""The demo-traffic page: signed samples for the demo accounts, a sink for 12345 callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.core.cache import cache

from integrations.demo_traffic import demo_accounts_ensure, sample_request
from integrations.models import ChannelAccount


@pytest.fixture
def demo_accounts(db):  # type: ignore[no-untyped-def]
    cache.clear()
    return demo_accounts_ensure(site_url="http://127.0.0.1:8000")


def test_it_creates_the_three_demo_accounts_idempotently(demo_accounts):
    demo_accounts_ensure(site_url="http://127.0.0.1:8000")
    assert set(ChannelAccount.objects.values_list("slug", "kind")) == {
        ("demo-wechat", "wechat"),
        ("demo-weibo", "weibo"),
        ("demo-12345", "hotline"),
    }
    hotline = ChannelAccount.objects.get(slug="demo-12345")
    assert (
        hotline.config["callback_base"] == "http://127.0.0.1:8000/integrations/demo-sink/demo-12345"
    )


def test_the_page_is_for_staff_only(client, cast, demo_accounts):
    assert client.get("/admin/demo-traffic/").status_code == 302
    client.force_login(cast["admin"])
    page = client.get("/admin/demo-traffic/").content.decode()
    assert "发送微信消息" in page and "派发12345工单" in page


@pytest.mark.parametrize("channel", ["wechat", "weibo", "hotline"])
def test_a_sample_is_signed_for_its_demo_account(client, cast, demo_accounts, channel):
    client.force_login(cast["admin"])
    sample = client.get(f"/admin/demo-traffic/sample/{channel}/?text=路灯坏了请修理一下谢谢").json()
    assert sample["url"].startswith(
        f"/integrations/{'hotline' if channel == 'hotline' else channel}/"
    )
    assert "路灯坏了" in sample["body"]
    if channel == "hotline":
        headers = sample["headers"]
        expected = hmac.new(
            b"demo-hotline-secret",
            f"{headers['X-Hotline-Timestamp']}\n{headers['X-Hotline-Nonce']}\n".encode()
            + sample["body"].encode(),
            hashlib.sha256,
        ).hexdigest()
        assert headers["X-Hotline-Signature"] == expected
        assert json.loads(sample["body"])["event"] == "dispatch"


def test_the_sink_keeps_only_correctly_signed_callbacks(client, demo_accounts):
    body = json.dumps({"order_no": "DEMO1", "event": "accepted"}).encode()
    signature = hmac.new(b"demo-hotline-secret", b"1\nn\n" + body, hashlib.sha256).hexdigest()
    headers = {"X-Hotline-Timestamp": "1", "X-Hotline-Nonce": "n", "X-Hotline-Signature": signature}
    ok = client.post(
        "/integrations/demo-sink/demo-12345/callbacks",
        body,
        content_type="application/json",
        headers=headers,
    )
    assert ok.status_code == 200
    bad = client.post(
        "/integrations/demo-sink/demo-12345/callbacks",
        body,
        content_type="application/json",
        headers={**headers, "X-Hotline-Signature": "0"},
    )
    assert bad.status_code == 401
    assert len(cache.get("demo-traffic:callbacks")) == 1


def test_a_wechat_sample_sent_to_the_real_endpoint_opens_a_ticket(client, cast, demo_accounts):
    from tickets.models import Ticket

    client.force_login(cast["admin"])
    sample = client.get(
        "/admin/demo-traffic/sample/wechat/?text=小区门口路灯坏了一周了请尽快修理"
    ).json()
    response = client.generic(
        "POST", sample["url"], sample["body"].encode(), content_type="text/xml"
    )
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.channel == "wechat" and ticket.case_no in response.content.decode()


def test_sample_uses_sample_request_directly(demo_accounts):
    request = sample_request("weibo", sender="123", text="测试")
    assert json.loads(request["body"])["sender_id"] == 123


def test_outside_demo_mode_there_is_no_demo(client, cast, settings):
    from django.core.management import CommandError, call_command

    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEMO=1"):
        call_command("load_demo")
    assert not ChannelAccount.objects.exists()
    client.force_login(cast["admin"])
    assert client.get("/admin/demo-traffic/").status_code == 404
    assert (
        client.post(
            "/integrations/demo-sink/demo-12345/callbacks", b"{}", content_type="application/json"
        ).status_code
        == 404
    )
