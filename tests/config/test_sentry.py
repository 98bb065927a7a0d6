"""Sentry: errors arrive with environment and release, and no personal data ever leaves.

The SDK is initialised through ``config.sentry.init_sentry`` with an in-memory transport, so
what would be sent is exactly what these tests read. A tiny urlconf in this module provides
views that fail; the personal data they handle comes from the request, as it would in the app.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest
import sentry_sdk
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.core.signals import request_started
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from config.sentry import REDACTED, before_send, init_sentry, scrub, scrub_query_string
from tickets.models import Citizen

DSN = "https://public@example.invalid/1"
logger = logging.getLogger("minsheng.test_sentry")


class MemoryTransport(Transport):
    """Keeps every envelope the SDK would have sent."""

    def __init__(self) -> None:
        super().__init__(None)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        return [event for envelope in self.envelopes if (event := envelope.get_event()) is not None]

    def serialized(self) -> str:
        """Everything sent, as text: the wire bytes and each item re-dumped without escapes
        (the wire format writes Chinese as \\uXXXX, which a plain search would miss)."""
        parts = []
        for envelope in self.envelopes:
            parts.append(envelope.serialize().decode("utf-8"))
            for item in envelope.items:
                payload = item.payload.json
                if payload is not None:
                    parts.append(json.dumps(payload, ensure_ascii=False, default=str))
        return "\n".join(parts)


# --- views that fail ----------------------------------------------------------------------


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the inbox exploded")


@csrf_exempt
def intake_fails(request: HttpRequest) -> HttpResponse:
    """Handles a citizen's submission and fails with their details everywhere it can."""
    name = request.POST["citizen_name"]
    phone = request.POST["phone"]
    id_number = request.POST["id_number"]
    content = request.POST["content"]
    email = request.POST["email"]
    lookup = request.GET.get("phone", "")
    logger.info("收到来电 %s，身份证 %s", phone, id_number)
    logger.warning("查询号码 %s 的诉求", lookup)
    sentry_sdk.set_extra("citizen_name", name)
    sentry_sdk.set_extra("note", f"回拨 {phone}，证件 {id_number}")
    sentry_sdk.set_context("citizen", {"name": name, "phone": phone, "content": content})
    sentry_sdk.set_context("ticket", {"summary": f"{phone} 反映：路灯不亮"})
    sentry_sdk.set_tag("caller", phone)
    sentry_sdk.set_user({"id": "42", "username": name, "email": email})
    Citizen.objects.filter(name=name, phone=phone).exists()
    raise ValueError(f"无法处理 {phone} 的诉求（身份证 {id_number}）")


urlpatterns = [
    path("boom/", boom),
    path("intake/", intake_fails),
]

# --- set-up -------------------------------------------------------------------------------


def asgi_request(
    method: str, path_: str, *, query: str = "", body: bytes = b"", headers: dict[str, str]
) -> int:
    """One request through Django's ASGI handler, the way daphne serves the app in production
    (the test client skips the server layer, where Sentry reads the URL and query string)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_,
        "raw_path": path_.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def run() -> int:
        communicator = ApplicationCommunicator(get_asgi_application(), scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(timeout=10)
        while True:
            message = await communicator.receive_output(timeout=10)
            if not message.get("more_body"):
                break
        await communicator.wait(timeout=10)
        return int(start["status"])

    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    try:
        return async_to_sync(run)()
    finally:
        request_started.connect(close_old_connections)


@pytest.fixture
def sentry() -> Iterator[MemoryTransport]:
    transport = MemoryTransport()
    assert init_sentry(dsn=DSN, environment="test", release="minsheng@test", transport=transport)
    try:
        yield transport
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
        sentry_sdk.get_isolation_scope().clear()
        sentry_sdk.get_current_scope().clear()
    assert not sentry_sdk.get_client().is_active()


def test_it_stays_off_without_a_dsn() -> None:
    assert init_sentry(dsn="", environment="test", release="") is False
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.urls(__name__)
def test_it_reports_an_unhandled_error_in_a_view(sentry: MemoryTransport) -> None:
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500

    events = sentry.events()
    assert len(events) == 1, events
    event = events[0]
    assert event["environment"] == "test"
    assert event["release"] == "minsheng@test"
    assert event["level"] == "error"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "the inbox exploded"
    assert exception["mechanism"]["handled"] is False
    assert exception["stacktrace"]["frames"][-1]["function"] == "boom"
    assert event["transaction"] == "/boom/"
    # What the SDK says about itself is kept (the scrubber must not blank its "name" keys).
    assert event["sdk"]["name"].startswith("sentry.python")
    assert event["contexts"]["runtime"]["name"] == "CPython"


@pytest.mark.urls(__name__)
def test_it_reports_an_error_served_over_asgi_with_its_request(sentry: MemoryTransport) -> None:
    assert asgi_request("GET", "/boom/", query="page=2", headers={}) == 500

    events = sentry.events()
    assert len(events) == 1, events
    event = events[0]
    assert event["environment"] == "test" and event["release"] == "minsheng@test"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["request"]["url"] == "http://testserver/boom/"
    assert event["request"]["method"] == "GET"
    assert event["request"]["query_string"] == "page=2"


PERSONAL = {
    "phone": "13812345678",
    "id_number": "420102199001011234",
    "citizen_name": "张晓明",
    "content": "我住在幸福小区3栋，楼下路灯坏了半个月",
    "email": "zhang.xiaoming@example.com",
}


def _leaks(text: str, values: list[str]) -> list[str]:
    forms = {
        form: value
        for value in values
        for form in (value, quote(value), quote_plus(value), json.dumps(value)[1:-1])
    }
    return sorted({value for form, value in forms.items() if form in text})


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("served_by", ["test_client", "asgi"])
def test_it_sends_no_personal_data(served_by: str, sentry: MemoryTransport, db: Any) -> None:
    query = f"phone={PERSONAL['phone']}&name={quote(PERSONAL['citizen_name'])}&page=2"
    headers = {"Cookie": "sessionid=abc123secretsession", "Authorization": "Token 0123456789abcdef"}
    if served_by == "asgi":
        body = urlencode(PERSONAL).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        status = asgi_request("POST", "/intake/", query=query, body=body, headers=headers)
    else:
        status = (
            Client(raise_request_exception=False)
            .post(
                f"/intake/?{query}",
                data=PERSONAL,
                HTTP_COOKIE=headers["Cookie"],
                HTTP_AUTHORIZATION=headers["Authorization"],
            )
            .status_code
        )
    assert status == 500

    events = sentry.events()
    assert len(events) == 1, events
    event = events[0]
    # Still useful: the error, where it happened, environment and release.
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["environment"] == "test" and event["release"] == "minsheng@test"
    value = event["exception"]["values"][-1]["value"]
    assert value == f"无法处理 {REDACTED} 的诉求（身份证 {REDACTED}）"
    assert event.get("user", {}) in ({}, {"id": "42"})
    if served_by == "asgi":
        assert event["request"]["method"] == "POST"
        assert "page=2" in event["request"]["query_string"]

    text = sentry.serialized()
    values = list(PERSONAL.values()) + ["abc123secretsession", "0123456789abcdef"]
    assert _leaks(text, values) == []
    # Local variables and the request body are not sent at all.
    for exception in event["exception"]["values"]:
        for frame in exception.get("stacktrace", {}).get("frames", []):
            assert "vars" not in frame
    assert "data" not in event.get("request", {})


def test_it_masks_phone_and_id_numbers_in_logged_errors(sentry: MemoryTransport) -> None:
    with sentry_sdk.isolation_scope():
        logger.info("市民来电 %s", PERSONAL["phone"])
        logger.error(
            "回拨失败：%s，证件 %s",
            PERSONAL["phone"],
            PERSONAL["id_number"],
            extra={"phone": PERSONAL["phone"], "case_no": "20250312000001"},
        )
        sentry_sdk.capture_message(f"短信发送失败：{PERSONAL['phone']}")

    events = sentry.events()
    assert len(events) == 2, events
    assert _leaks(sentry.serialized(), [PERSONAL["phone"], PERSONAL["id_number"]]) == []
    logged = next(event for event in events if event.get("logentry"))
    assert logged["logentry"]["message"] == "回拨失败：%s，证件 %s"
    assert logged["extra"]["case_no"] == "20250312000001"


# --- scrub and before_send as pure functions -----------------------------------------------

SCRUB_CASES: list[tuple[str, Any, Any]] = [
    ("mobile in text", "请回电 13812345678 谢谢", f"请回电 {REDACTED} 谢谢"),
    ("every mobile prefix", "19912345678", REDACTED),
    ("landline with area code", "电话 027-87654321", f"电话 {REDACTED}"),
    ("landline without dash", "02787654321", REDACTED),
    ("18-digit id", "身份证420102199001011234", f"身份证{REDACTED}"),
    ("id ending in X", "42010219900101123X", REDACTED),
    ("15-digit id", "420102900101123", REDACTED),
    ("case number is kept", "编号 20250312000001", "编号 20250312000001"),
    ("short numbers are kept", "第 3 栋 1201 室", "第 3 栋 1201 室"),
    ("not a mobile prefix", "12812345678", "12812345678"),
    ("digits inside a longer run", "4201021990010112345678", "4201021990010112345678"),
    ("sensitive key", {"phone": "whatever"}, {"phone": REDACTED}),
    ("keys in any case", {"Citizen_Name": "张三"}, {"Citizen_Name": REDACTED}),
    ("sensitive key holding a dict", {"citizen": {"id": 1}}, {"citizen": REDACTED}),
    (
        "nested",
        {"a": [{"content": "x", "n": 1}, "13812345678"], "b": None},
        {"a": [{"content": REDACTED, "n": 1}, REDACTED], "b": None},
    ),
    ("tuples become lists", ("13812345678", 2), [REDACTED, 2]),
    ("other values untouched", {"count": 3, "ok": True}, {"count": 3, "ok": True}),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [pytest.param(value, expected, id=name) for name, value, expected in SCRUB_CASES],
)
def test_it_scrubs(value: Any, expected: Any) -> None:
    assert scrub(value) == expected


QUERY_CASES: list[tuple[str, str, str]] = [
    ("harmless parameters kept", "page=2&state=new", "page=2&state=new"),
    ("sensitive key", "phone=123&page=2", f"phone={quote_plus(REDACTED)}&page=2"),
    ("name, raw (as ASGI gives it)", "name=张三", f"name={quote_plus(REDACTED)}"),
    ("name, percent-encoded", "name=%E5%BC%A0%E4%B8%89", f"name={quote_plus(REDACTED)}"),
    ("search box", "q=13812345678", f"q={quote_plus(REDACTED)}"),
    ("number under any key", "case=13812345678", f"case={quote_plus(REDACTED)}"),
    ("blank values kept", "state=&page=1", "state=&page=1"),
    ("empty", "", ""),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [pytest.param(query, expected, id=name) for name, query, expected in QUERY_CASES],
)
def test_it_scrubs_query_strings(query: str, expected: str) -> None:
    assert scrub_query_string(query) == expected


def test_it_does_not_change_its_input() -> None:
    value = {"phone": "13812345678", "items": ["13812345678"]}
    scrub(value)
    assert value == {"phone": "13812345678", "items": ["13812345678"]}


def test_it_scrubs_a_raw_event() -> None:
    event = {
        "message": "x",
        "exception": {"values": [{"type": "ValueError", "value": "号码 13812345678 无效"}]},
        "logentry": {
            "message": "回拨 %s",
            "params": ["13812345678"],
            "formatted": "回拨 13812345678",
        },
        "breadcrumbs": {"values": [{"message": "证件 420102199001011234", "data": {"phone": "1"}}]},
        "request": {
            "url": "http://testserver/intake/",
            "data": {"phone": "13812345678"},
            "cookies": {"sessionid": "s"},
            "headers": {"Cookie": "sessionid=s", "Authorization": "Token t", "Accept": "*/*"},
            "query_string": "phone=13812345678&name=%E5%BC%A0%E4%B8%89&page=2",
        },
        "user": {"id": 7, "email": "a@b.c", "ip_address": "10.0.0.1"},
        "extra": {"citizen_name": "张三", "note": "13812345678"},
    }
    sent = before_send(event, {})
    text = json.dumps(sent, ensure_ascii=False)
    assert "13812345678" not in text and "420102199001011234" not in text
    assert "张三" not in text and "%E5%BC%A0" not in text
    assert "a@b.c" not in text and "10.0.0.1" not in text and "Token t" not in text
    assert sent["user"] == {"id": 7}
    assert "data" not in sent["request"] and "cookies" not in sent["request"]
    assert sent["request"]["headers"]["Accept"] == "*/*"
    assert "page=2" in sent["request"]["query_string"]
    assert sent["request"]["url"] == "http://testserver/intake/"
    assert sent["exception"]["values"][0]["value"] == f"号码 {REDACTED} 无效"
