"""SMS: the logging backend, and the Alibaba Cloud adapter against a fake provider on
127.0.0.1 that checks the signature the way the real one does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations.models import OutboxMessage
from integrations.outbound import sms
from integrations.outbound.base import DeliveryError
from integrations.outbound.processor import outbox_process
from tickets import services

KEY_ID, SECRET = "LTAI-test-key", "test-secret-0123456789"


def rfc3986(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


class FakeAliyun:
    """Answers SendSms like dysmsapi.aliyuncs.com: verifies the signature with the secret."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.answer: tuple[int, dict[str, Any]] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.urlsplit(self.path).query
                params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
                fake.requests.append(params)
                status, body = fake.respond(params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def respond(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        signature = params.pop("Signature", "")
        canonical = "&".join(f"{rfc3986(k)}={rfc3986(params[k])}" for k in sorted(params))
        to_sign = "GET&%2F&" + rfc3986(canonical)
        expected = base64.b64encode(
            hmac.new((SECRET + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if params.get("AccessKeyId") != KEY_ID or not hmac.compare_digest(signature, expected):
            return 400, {
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature is not matched",
            }
        if self.answer is not None:
            return self.answer
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": "900619746936498440^0",
            "RequestId": "R1",
        }


@pytest.fixture
def provider() -> Iterator[FakeAliyun]:
    fake = FakeAliyun()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def aliyun(provider: FakeAliyun, **overrides: Any) -> sms.AliyunSmsBackend:
    options: dict[str, Any] = {
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "sign_name": "民声12345",
        "template_code": "SMS_000001",
        "endpoint": provider.url,
        "timeout": 5,
    }
    options.update(overrides)
    return sms.AliyunSmsBackend(**options)


@pytest.fixture
def aliyun_env(provider: FakeAliyun, monkeypatch: pytest.MonkeyPatch) -> FakeAliyun:
    for key, value in {
        "SMS_BACKEND": "aliyun",
        "SMS_ALIYUN_ACCESS_KEY_ID": KEY_ID,
        "SMS_ALIYUN_ACCESS_KEY_SECRET": SECRET,
        "SMS_ALIYUN_SIGN_NAME": "民声12345",
        "SMS_ALIYUN_TEMPLATE_CODE": "SMS_000001",
        "SMS_ALIYUN_ENDPOINT": provider.url,
    }.items():
        monkeypatch.setenv(key, value)
    return provider


def test_it_signs_the_documented_example():
    # The example in Alibaba Cloud's SMS signature documentation.
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert sms.aliyun_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_it_logs_an_sms_with_the_number_masked_and_never_its_text(monkeypatch, caplog):
    monkeypatch.delenv("SMS_BACKEND", raising=False)
    with caplog.at_level(logging.INFO, logger="integrations.outbound.sms"):
        backend, message_id = sms.sms_send("13812345678", "您的诉求已受理。")
    assert backend == "log" and message_id.startswith("log-")
    assert "138****5678" in caplog.text and "您的诉求已受理。" not in caplog.text
    assert "13812345678" not in caplog.text
    assert sms.mask_phone("027-12345678") == "027*****5678"


def test_it_sends_through_aliyun_with_a_valid_signature(provider):
    message_id = aliyun(provider).send("13812345678", "您的诉求（编号 20250304000001）已受理。")
    assert message_id == "900619746936498440^0"
    [request] = provider.requests
    assert request["Action"] == "SendSms" and request["PhoneNumbers"] == "13812345678"
    assert request["SignName"] == "民声12345" and request["TemplateCode"] == "SMS_000001"
    assert json.loads(request["TemplateParam"]) == {
        "content": "您的诉求（编号 20250304000001）已受理。"
    }
    assert request["SignatureMethod"] == "HMAC-SHA1" and request["Timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("answer", "permanent"),
    [
        ((400, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}), True),
        ((400, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法"}), True),
        ((200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "业务限流"}), False),
        ((200, {"Code": "isv.AMOUNT_NOT_ENOUGH", "Message": "余额不足"}), False),
        ((503, {"Code": "ServiceUnavailable", "Message": "busy"}), False),
        ((500, {}), False),
    ],
)
def test_it_maps_provider_errors(provider, answer, permanent):
    provider.answer = answer
    with pytest.raises(DeliveryError) as caught:
        aliyun(provider).send("13812345678", "测试")
    assert caught.value.permanent is permanent
    code = answer[1].get("Code")
    if code:
        assert code in str(caught.value)


def test_it_calls_a_wrong_secret_permanent(provider):
    with pytest.raises(DeliveryError, match="SignatureDoesNotMatch") as caught:
        aliyun(provider, access_key_secret="wrong").send("13812345678", "测试")
    assert caught.value.permanent


def test_it_retries_when_the_provider_cannot_be_reached(provider):
    url = provider.url
    provider.server.shutdown()
    provider.server.server_close()
    with pytest.raises(DeliveryError, match="连接失败") as caught:
        aliyun(provider, endpoint=url, timeout=1).send("13812345678", "测试")
    assert not caught.value.permanent


def test_it_refuses_plain_http_to_another_machine(provider):
    with pytest.raises(DeliveryError, match="不安全"):
        aliyun(provider, endpoint="http://sms.example.com/").send("13812345678", "测试")
    assert provider.requests == []


def test_it_reads_the_backend_from_the_environment(aliyun_env, monkeypatch):
    backend = sms.sms_backend()
    assert isinstance(backend, sms.AliyunSmsBackend) and backend.endpoint == aliyun_env.url
    monkeypatch.delenv("SMS_ALIYUN_TEMPLATE_CODE")
    with pytest.raises(DeliveryError, match="SMS_ALIYUN_TEMPLATE_CODE") as caught:
        sms.sms_send("13812345678", "测试")
    assert not caught.value.permanent
    monkeypatch.setenv("SMS_BACKEND", "log")
    assert isinstance(sms.sms_backend(), sms.LoggingSmsBackend)


def test_a_website_case_is_told_by_aliyun_sms(aliyun_env, categories, cast):
    result = services.intake_message(
        message=services.IncomingMessage(
            channel="website",
            sender_kind="phone",
            sender_id="13812345678",
            phone="13812345678",
            text="建设路的路灯坏了一个多星期，晚上很黑，请尽快维修。",
            may_follow_up=False,
        )
    )
    ticket = result.ticket
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    outbox_process()
    row = OutboxMessage.objects.get(ticket=ticket)
    assert row.status == "sent" and row.via == "sms:aliyun"
    [request] = aliyun_env.requests
    assert request["PhoneNumbers"] == "13812345678"
    assert ticket.case_no in json.loads(request["TemplateParam"])["content"]
