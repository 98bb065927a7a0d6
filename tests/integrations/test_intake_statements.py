"""How many SQL statements one inbound message costs (issue 8, W1/W2): a bound that only moves
down. Each message goes through the real endpoint with autocommit as in production
(``transaction=True``), so BEGIN and COMMIT are counted too.

On PostgreSQL a WeChat text from a new citizen is 9 statements (26 before): the account, the
journal insert (committed before parsing), BEGIN, the citizen (one upsert), the day's
case-number counter, the ticket, its event, the journal's outcome, COMMIT. The SLA policies and
calendar come from the process's snapshot (one Redis read when REDIS_URL is set). The website
API needs no account (8); a 12345 dispatch also looks for the order's ticket (10; 24 before)."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations.accounts import channel_account_save
from integrations.hotline import signing
from integrations.models import InboundMessage
from integrations.wechat import crypto
from sla import services as sla
from tests.conftest import requires_postgres, walk
from tickets.models import Citizen, Ticket

TOKEN = "statement-count-token"
GH = "gh_statements01"
NEW_CITIZEN_MAX = 9
KNOWN_CITIZEN_MAX = 10  # + the follow-up check (does their new ticket take this message?)
WEBSITE_MAX = 8
HOTLINE_MAX = 10
HOTLINE_SECRET = "statement-count-secret"

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def own_reference_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other test runs sharing this Redis renew the shared version (a flush does): keep ours
    # apart so that only this test's own writes make the process reload.
    monkeypatch.setattr(sla, "REFERENCE_VERSION_KEY", f"sla:reference-version:{uuid.uuid4()}")


@pytest.fixture
def account(transactional_db: Any) -> None:
    channel_account_save(
        kind="wechat",
        slug="wx-count",
        values={"mode": "plain", "token": TOKEN, "app_id": "wx0000count", "original_id": GH},
    )


def send(client: Client, sender: str, text: str) -> Any:
    now = str(int(time.time()))
    nonce = os.urandom(6).hex()
    query = {"signature": crypto.signature(TOKEN, now, nonce), "timestamp": now, "nonce": nonce}
    body = (
        f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{int(now) * 1000 + len(text)}</MsgId></xml>"
    )
    return client.post(
        f"/integrations/wechat/wx-count/?{urlencode(query)}", body.encode(), content_type="text/xml"
    )


def statements(queries: CaptureQueriesContext) -> str:
    return "\n".join(" ".join(query["sql"].split())[:160] for query in queries.captured_queries)


def test_a_new_citizens_message_costs_at_most_nine_statements(
    client: Client, account: None
) -> None:
    send(client, "o-warm-up", "暖场：第一条消息让进程读好时限策略和工作日历。")
    with CaptureQueriesContext(connection) as queries:
        response = send(client, "o-first-time", "和平街88号门口的路灯坏了一个星期。")
    assert response.status_code == 200
    assert "您的诉求已收到" in response.content.decode()
    ticket = Ticket.objects.get(citizen__identities__value="o-first-time")
    row = InboundMessage.objects.get(ticket=ticket)
    assert (row.status, row.attempts) == ("processed", 1)
    assert row.response is not None and row.response["case_no"] == ticket.case_no
    assert len(queries.captured_queries) <= NEW_CITIZEN_MAX, statements(queries)
    assert not any("SAVEPOINT" in query["sql"] for query in queries.captured_queries)


def test_a_known_citizens_new_case_costs_at_most_ten_statements(
    client: Client, account: None, cast: dict[str, Any], departments: dict[str, Any]
) -> None:
    send(client, "o-regular", "第一件：建设路的井盖松动了。")
    first = Ticket.objects.get()
    walk(first, cast, departments, "acknowledged")  # taken up: the next message is a new case
    with CaptureQueriesContext(connection) as queries:
        response = send(client, "o-regular", "第二件：和平街的路灯不亮。")
    assert response.status_code == 200
    assert Ticket.objects.count() == 2
    assert Citizen.objects.count() == 1
    assert len(queries.captured_queries) <= KNOWN_CITIZEN_MAX, statements(queries)


def website_case(client: Client, phone: str) -> Any:
    content = "和平街88号门口的路灯坏了一个星期，晚上很黑。"
    body = {"name": "李女士", "phone": phone, "content": content, "title": "路灯"}
    return client.post("/api/v1/website/tickets/", body, content_type="application/json")


def test_a_website_case_costs_at_most_eight_statements(client: Client) -> None:
    website_case(client, "13900000001")
    with CaptureQueriesContext(connection) as queries:
        response = website_case(client, "13900000002")
    assert response.status_code == 201, response.content
    assert Ticket.objects.filter(case_no=response.json()["case_no"]).exists()
    assert len(queries.captured_queries) <= WEBSITE_MAX, statements(queries)


def dispatch(client: Client, order_no: str) -> Any:
    order = {
        "event": "dispatch",
        "order_no": order_no,
        "version": 1,
        "accepted_at": "2026-11-16 10:00:00",
        "caller_name": "王先生",
        "caller_phone": "13800000001",
        "request_type": "complaint",
        "title": "路灯损坏",
        "content": "来电人反映和平街的路灯不亮。",
        "district": "青山区",
        "urgency": "normal",
        "attachments": [],
    }
    raw = json.dumps(order, ensure_ascii=False).encode()
    return client.post(
        "/integrations/hotline/hl-count/orders",
        data=raw,
        content_type="application/json",
        headers=signing.signed_headers(HOTLINE_SECRET, raw, now=time.time()),
    )


def test_a_hotline_dispatch_costs_at_most_ten_statements(client: Client) -> None:
    channel_account_save(
        kind="hotline",
        slug="hl-count",
        values={"secret": HOTLINE_SECRET, "callback_base": "http://127.0.0.1:9/p"},
    )
    dispatch(client, "GD-COUNT-1")
    with CaptureQueriesContext(connection) as queries:
        response = dispatch(client, "GD-COUNT-2")
    assert response.status_code == 200, response.content
    assert Ticket.objects.filter(external_ref="GD-COUNT-2", state="acknowledged").exists()
    assert len(queries.captured_queries) <= HOTLINE_MAX, statements(queries)
