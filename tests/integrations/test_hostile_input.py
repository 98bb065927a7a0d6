"""Hostile input at every door (issue 13, items 1, 2 and 5): bodies nested thousands deep, NUL
bytes and lone surrogates in fields, paths and query parameters, and a WeChat retry that reuses
its signed query. Never a 500; the signed message is kept in the journal (or refused before
anything changed) and the answer says what was wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from integrations.journal import journal_store
from integrations.models import InboundMessage
from tests.integrations.signed import (
    SLUGS,
    accounts_create,
    hotline_order,
    hotline_post,
    open311_post,
    wechat_post,
    wechat_query,
    wechat_text,
    weibo_post,
    weibo_text,
)
from tests.integrations.test_wechat_units import reply_of
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def open311_key(db: Any, categories: dict, settings: Any) -> str:
    cache.clear()  # replay keys and rate-limit windows of earlier tests
    settings.WEBSITE_RATE_LIMIT = "1000/hour"
    return accounts_create()


# --- 1. deep nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("safe", [False, True])
def test_it_journals_a_wechat_push_nested_5000_deep_and_answers_success(
    client: Client, open311_key: str, safe: bool
) -> None:
    body = b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>"
    response = wechat_post(client, body, safe=safe)
    assert response.status_code == 200 and response.content == b"success"
    row = InboundMessage.objects.get(channel="wechat")
    assert row.status == "failed" and "嵌套" in row.reason
    # The body as it came: in safe mode the envelope, which carries the nesting encrypted.
    assert bytes(row.raw_body).count(b"<a>") == (0 if safe else 5000)
    assert (b"<Encrypt>" in bytes(row.raw_body)) is safe
    assert Ticket.objects.count() == 0


def test_it_keeps_a_wechat_message_whose_extra_element_nests_too_deep(
    client: Client, open311_key: str
) -> None:
    body = wechat_text("路灯坏了", msg_id=1).replace(
        b"</xml>", b"<x>" + b"<a>" * 3000 + b"</a>" * 3000 + b"</x></xml>"
    )
    response = wechat_post(client, body)
    assert response.status_code == 200
    row = InboundMessage.objects.get(channel="wechat")
    assert row.status == "failed" and "嵌套" in row.reason


def test_it_journals_a_weibo_push_nested_3000_deep(client: Client, open311_key: str) -> None:
    body = b'{"type":"text","data":' + b"[" * 3000 + b"]" * 3000 + b"}"
    response = weibo_post(client, body)
    assert response.status_code == 200
    row = InboundMessage.objects.get(channel="weibo")
    assert row.status == "failed" and "嵌套" in row.reason and bytes(row.raw_body) == body


def test_it_refuses_a_hotline_order_nested_3000_deep_and_keeps_it(
    client: Client, open311_key: str
) -> None:
    order = json.dumps(hotline_order("QS-DEEP-1"), ensure_ascii=False)
    nested = "[" * 3000 + "]" * 3000
    raw = order.replace('"address"', f'"attachments": {nested}, "address"').encode()
    response = hotline_post(client, raw)
    assert response.status_code == 400
    assert "嵌套" in response.json()["message"]
    row = InboundMessage.objects.get(channel="hotline")
    assert row.status == "rejected" and bytes(row.raw_body) == raw


def test_it_refuses_api_json_nested_too_deep(client: Client, open311_key: str) -> None:
    body = '{"phone": "13800001234", "content": ' + "[" * 5000 + "]" * 5000 + "}"
    response = client.post("/api/v1/website/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    assert "嵌套" in response.json()["message"]


# --- 2. NUL bytes and lone surrogates -----------------------------------------------------------


def test_it_refuses_a_nul_in_a_hotline_field_naming_it_and_keeps_the_order(
    client: Client, open311_key: str
) -> None:
    response = hotline_post(client, hotline_order("QS-NUL-1", caller_name="王\u0000女士"))
    assert response.status_code == 400
    assert response.json()["message"].startswith("caller_name")
    row = InboundMessage.objects.get(channel="hotline")
    assert row.status == "rejected" and "caller_name" in row.reason
    assert b"\\u0000" in bytes(row.raw_body)
    assert Ticket.objects.count() == 0


def test_it_refuses_a_lone_surrogate_in_a_hotline_attachment_name(
    client: Client, open311_key: str
) -> None:
    attachments = [{"name": "现场\ud800.jpg", "url": "http://files.example/1.jpg"}]
    raw = json.dumps(hotline_order("QS-SUR-1", attachments=attachments)).encode()
    response = hotline_post(client, raw)
    assert response.status_code == 400
    assert response.json()["message"].startswith("attachments[0].name")
    assert InboundMessage.objects.get(channel="hotline").status == "rejected"


def test_it_refuses_a_nul_in_a_weibo_text_and_keeps_the_push(
    client: Client, open311_key: str
) -> None:
    response = weibo_post(client, weibo_text("路灯坏了\u0000"))
    assert response.status_code == 200
    row = InboundMessage.objects.get(channel="weibo")
    assert row.status == "rejected" and "内容" in row.reason and "\\u0000" in row.reason
    assert Ticket.objects.count() == 0


def test_it_keeps_a_wechat_push_with_a_nul_character_reference(
    client: Client, open311_key: str
) -> None:
    body = wechat_text("placeholder", msg_id=7).replace(
        b"<![CDATA[placeholder]]>", "路灯&#0;坏了".encode()
    )
    response = wechat_post(client, body)
    assert response.status_code == 200 and response.content == b"success"
    assert InboundMessage.objects.get(channel="wechat").status == "failed"


def test_it_refuses_a_nul_in_an_open311_description_naming_it_and_keeps_the_request(
    client: Client, open311_key: str
) -> None:
    response = open311_post(
        client, open311_key, service_code="lights", description="路灯\u0000坏了一周了"
    )
    assert response.status_code == 400
    assert "description" in response.json()[0]["description"]
    row = InboundMessage.objects.get(channel="open311")
    assert row.status == "rejected" and b"%00" in bytes(row.raw_body)


def test_it_refuses_a_nul_api_key_before_anything_is_kept(client: Client, open311_key: str) -> None:
    response = open311_post(client, "o311_\u0000x", service_code="lights", description="路灯坏了")
    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/open311/v2/requests.json?service_code=%00",
        "/open311/v2/requests.xml?service_request_id=1%002",
        "/open311/v2/requests/%00.json",
        "/public/?q=%00",
        "/public/cases/%00/",
        "/track/?case_no=%00",
        "/inbox/?q=%00",
        "/static/%00.css",
        "/dashboards/?month=2026-01%00",
    ],
)
def test_it_refuses_a_nul_or_invalid_character_in_an_address(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.content[:200]
    assert "空字符" in response.content.decode() or "无效" in response.content.decode()


def test_it_refuses_a_nul_in_an_api_path_even_for_a_signed_in_handler(
    client: Client, cast: dict[str, Any]
) -> None:
    token = Token.objects.create(user=cast["handler_a"])
    response = client.post(
        "/api/v1/tickets/%00x/reply/",
        {"content": "已处理"},
        content_type="application/json",
        headers={"Authorization": f"Token {token.key}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    anonymous = Client().post("/api/v1/tickets/%00x/reply/")
    assert anonymous.status_code == 400


def test_it_refuses_a_nul_in_the_website_api_naming_the_field(
    client: Client, open311_key: str
) -> None:
    body = {"phone": "13800001234", "title": "路灯", "content": "路灯坏了一周\u0000了，晚上很黑。"}
    response = client.post("/api/v1/website/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    assert "content" in response.json()["message"]
    assert Ticket.objects.count() == 0


def test_it_refuses_a_nul_in_the_website_form(client: Client, open311_key: str) -> None:
    response = client.post(
        "/",
        {"phone": "13800001234", "title": "路灯", "content": "路灯坏了一周\x00了，晚上很黑。"},
    )
    assert response.status_code == 400
    assert Ticket.objects.count() == 0


def test_it_never_stores_a_nul_from_a_staff_form(client: Client, cast: dict[str, Any]) -> None:
    client.force_login(cast["dispatcher"])
    User = get_user_model()
    response = client.post("/inbox/profile/", {"first_name": "王\x00"})
    assert response.status_code < 500
    assert "\x00" not in User.objects.get(pk=cast["dispatcher"].pk).first_name


# --- 5. a WeChat retry that reuses its signed query ---------------------------------------------


def _first_try_died(body: bytes, query: dict[str, str], msg_id: int) -> None:
    """What a first try leaves when it dies after the journal insert: an unanswered
    ``accepted`` row holding the signed query's one-time parameters."""
    journal_store(
        channel="wechat",
        account=SLUGS["wechat"],
        dedupe_key=f"{SLUGS['wechat']}:msg:{msg_id}",
        raw_body=body,
        attempts=1,
        replay_key=f"{SLUGS['wechat']}:{query['timestamp']}:{query['nonce']}",
    )


def test_it_takes_in_an_identical_retry_of_a_first_try_that_did_not_finish(
    client: Client, open311_key: str
) -> None:
    body, query = wechat_text("小区门口路灯坏了一个星期了", msg_id=42), wechat_query()
    _first_try_died(body, query, 42)
    response = wechat_post(client, body, query=query)
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.case_no in (reply_of(response).findtext("Content") or "")
    again = wechat_post(client, body, query=query)  # WeChat's third try: the same answer
    assert reply_of(again).findtext("Content") == reply_of(response).findtext("Content")
    assert Ticket.objects.count() == 1
    row = InboundMessage.objects.get(channel="wechat")
    # Two tries took it in (the one that died, the first retry); the third got the answer.
    assert row.status == "processed" and row.attempts == 2


def test_it_still_refuses_a_signed_query_reused_with_another_body(
    client: Client, open311_key: str
) -> None:
    query = wechat_query()
    assert (
        wechat_post(client, wechat_text("路灯坏了一周了", msg_id=1), query=query).status_code == 200
    )
    forged = wechat_post(client, wechat_text("伪造的消息内容", msg_id=2), query=query)
    assert forged.status_code == 403 and "重复" in forged.content.decode()
    assert Ticket.objects.count() == 1


# --- found by the review: what still gave a 500 -------------------------------------------------


@pytest.mark.parametrize("sender", ["²", "9" * 5000, "-1", 2**70, "１２３"])
def test_a_weibo_sender_id_that_is_no_int64_is_kept_not_a_500(
    client: Client, open311_key: str, sender: Any
) -> None:
    body = json.dumps(
        {"type": "text", "sender_id": sender, "text": "路灯坏了", "data": {}}
    ).encode()
    response = weibo_post(client, body)
    assert response.status_code == 200
    assert InboundMessage.objects.get(channel="weibo").status == "rejected"


def test_a_weibo_position_out_of_range_is_no_500(client: Client, open311_key: str) -> None:
    body = json.loads(weibo_text(""))
    body |= {"type": "position", "data": {"latitude": "1e400", "longitude": 999999}}
    response = weibo_post(client, json.dumps(body).encode())
    assert response.status_code == 200
    assert InboundMessage.objects.get(channel="weibo").status in ("ignored", "processed")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31 23:59:59"])
def test_a_hotline_time_out_of_range_is_a_400_naming_it(
    client: Client, open311_key: str, moment: str
) -> None:
    response = hotline_post(client, hotline_order("QS-TIME-1", accepted_at=moment))
    assert response.status_code == 400
    assert response.json()["message"].startswith("accepted_at")


def test_an_overlong_open311_email_is_a_400(client: Client, open311_key: str) -> None:
    response = open311_post(
        client,
        open311_key,
        service_code="lights",
        description="路灯坏了一周了",
        email="a" * 200 + "@x.cn",
    )
    assert response.status_code == 400 and "email" in response.json()[0]["description"]


def test_a_nul_in_a_staff_form_that_no_django_form_reads_is_a_400(
    client: Client, cast: dict[str, Any], make_ticket: Any, departments: Any
) -> None:
    client.force_login(cast["supervisor_a"])
    response = client.post(
        "/inbox/approvals/extensions/1/", {"decision": "approve", "note": "好\x00"}
    )
    assert response.status_code == 400 and "表单字段 note" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "department=²",
        "department=" + "9" * 40,
        "month=0001-01",
        "month=9999-12",
        "from=0001-01-01&to=0001-02-01",
        "from=2026-01-01&to=9999-01-01",
    ],
)
def test_odd_dashboard_pickers_fall_back_with_a_note(
    client: Client, cast: dict[str, Any], query: str
) -> None:
    client.force_login(cast["leadership"])
    for path in ("/dashboards/", "/dashboards/workload/", "/dashboards/csv/overview/"):
        response = client.get(f"{path}?{query}")
        assert response.status_code < 500, (path, query)


def test_the_api_answers_json_never_the_browsable_pages(client: Client) -> None:
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/api/v1/", headers={"Accept": browser_accept})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
