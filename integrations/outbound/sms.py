"""SMS to citizens: the last way to reach someone whose own channel cannot be used.

``sms_send(phone, text)`` returns the provider's message id or raises ``DeliveryError``
(``permanent=True`` when retrying cannot help: a bad number, a refused template). The backend
comes from the environment:

- ``SMS_BACKEND=log`` (default): writes the SMS to the log at INFO, the number masked. Nothing
  leaves the machine; the embedded default and development use it.
- ``SMS_BACKEND=aliyun``: Alibaba Cloud SMS ``SendSms`` (RPC API, HMAC-SHA1 signature).
  ``SMS_ALIYUN_ACCESS_KEY_ID``, ``SMS_ALIYUN_ACCESS_KEY_SECRET``, ``SMS_ALIYUN_SIGN_NAME``,
  ``SMS_ALIYUN_TEMPLATE_CODE`` (a template with one variable holding the whole text),
  ``SMS_ALIYUN_TEMPLATE_PARAM`` (that variable's name, default ``content``),
  ``SMS_ALIYUN_ENDPOINT`` (default ``https://dysmsapi.aliyuncs.com/``), ``SMS_ALIYUN_REGION``
  (default ``cn-hangzhou``), ``SMS_TIMEOUT`` seconds (default 10).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Protocol

from integrations.outbound.base import DeliveryError

logger = logging.getLogger(__name__)

SMS_MAX_CHARS = 500  # providers split long texts; a notice links to the full text anyway


class SmsBackend(Protocol):
    name: str

    def send(self, phone: str, text: str) -> str: ...


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678 (enough to tell numbers apart in a log, no more)."""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]


def sms_text(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"


class LoggingSmsBackend:
    """Writes the message to the log instead of sending it."""

    name = "log"

    def send(self, phone: str, text: str) -> str:
        message_id = f"log-{uuid.uuid4().hex[:12]}"
        # Never the text: a notice can carry a reply with personal data in it.
        logger.info("SMS %s to %s (%d characters)", message_id, mask_phone(phone), len(text))
        return message_id


# --- Alibaba Cloud SMS -------------------------------------------------------------------

# Errors where another try with the same number and template cannot succeed.
ALIYUN_PERMANENT = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.INVALID_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_SIGN_ILLEGAL",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.EXTEND_CODE_ERROR",
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
        "isv.DENY_IP_RANGE",
        "isv.RAM_PERMISSION_DENY",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.ACCOUNT_ABNORMAL",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "SignatureDoesNotMatch",
        "MissingParameter",
        "InvalidParameter",
    }
)


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud's RPC signature requires (space → %20, ~ kept)."""
    return urllib.parse.quote(value, safe="~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """The RPC API signature (SignatureVersion 1.0, HMAC-SHA1) of ``params``."""
    canonical = "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params)
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _allowed_endpoint(endpoint: str) -> bool:
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme == "https":
        return True
    # Plain HTTP only to this machine (a local relay, or the tests' fake provider).
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}


@dataclass
class AliyunSmsBackend:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    template_param: str = "content"
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region: str = "cn-hangzhou"
    timeout: float = 10.0
    name: str = "aliyun"

    def params(self, phone: str, text: str, *, nonce: str, at: dt.datetime) -> dict[str, str]:
        return {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({self.template_param: text}, ensure_ascii=False),
            "Timestamp": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }

    def signed_url(self, phone: str, text: str) -> str:
        params = self.params(phone, text, nonce=uuid.uuid4().hex, at=dt.datetime.now(dt.UTC))
        signature = aliyun_signature(params, self.access_key_secret)
        query = "&".join(
            f"{percent_encode(key)}={percent_encode(value)}"
            for key, value in [("Signature", signature), *sorted(params.items())]
        )
        return f"{self.endpoint.rstrip('/')}/?{query}"

    def send(self, phone: str, text: str) -> str:
        missing = [
            key
            for key, value in (
                ("SMS_ALIYUN_ACCESS_KEY_ID", self.access_key_id),
                ("SMS_ALIYUN_ACCESS_KEY_SECRET", self.access_key_secret),
                ("SMS_ALIYUN_SIGN_NAME", self.sign_name),
                ("SMS_ALIYUN_TEMPLATE_CODE", self.template_code),
            )
            if not value
        ]
        if missing:
            # Not permanent: once an administrator sets the keys, waiting notices go out.
            raise DeliveryError(f"短信未配置：缺少 {', '.join(missing)}")
        if not _allowed_endpoint(self.endpoint):
            raise DeliveryError(f"短信接口地址不安全：{self.endpoint}")
        request = urllib.request.Request(self.signed_url(phone, text), method="GET")  # noqa: S310
        status, body = self._fetch(request)
        return self._answer(status, body, phone)

    def _fetch(self, request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return int(response.status), response.read(65536)
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read(65536)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"短信接口连接失败：{exc}") from exc

    def _answer(self, status: int, body: bytes, phone: str) -> str:
        try:
            answer = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            answer = {}
        code = str(answer.get("Code", "")) if isinstance(answer, dict) else ""
        message = str(answer.get("Message", "")) if isinstance(answer, dict) else ""
        if status == 200 and code == "OK":
            biz_id = str(answer.get("BizId", "")) or str(answer.get("RequestId", ""))
            logger.info("SMS %s sent to %s via aliyun", biz_id, mask_phone(phone))
            return biz_id
        detail = f"阿里云短信 HTTP {status} {code or '无返回码'} {message}".strip()
        if code in ALIYUN_PERMANENT:
            raise DeliveryError(detail, permanent=True)
        # 5xx, no answer, flow control (isv.BUSINESS_LIMIT_CONTROL), throttling, balance:
        # another try later may succeed.
        raise DeliveryError(detail)


def sms_backend() -> SmsBackend:
    """The backend the environment asks for (read at each send, so a change needs no restart
    of the worker's code, only of its environment)."""
    kind = os.environ.get("SMS_BACKEND", "log").strip().lower() or "log"
    if kind == "aliyun":
        env = os.environ.get
        return AliyunSmsBackend(
            access_key_id=env("SMS_ALIYUN_ACCESS_KEY_ID", ""),
            access_key_secret=env("SMS_ALIYUN_ACCESS_KEY_SECRET", ""),
            sign_name=env("SMS_ALIYUN_SIGN_NAME", ""),
            template_code=env("SMS_ALIYUN_TEMPLATE_CODE", ""),
            template_param=env("SMS_ALIYUN_TEMPLATE_PARAM", "content") or "content",
            endpoint=env("SMS_ALIYUN_ENDPOINT", "") or "https://dysmsapi.aliyuncs.com/",
            region=env("SMS_ALIYUN_REGION", "") or "cn-hangzhou",
            timeout=float(env("SMS_TIMEOUT", "") or 10),
        )
    if kind != "log":
        logger.error("SMS_BACKEND=%r is unknown; SMS are only logged", kind)
    return LoggingSmsBackend()


def sms_send(phone: str, text: str) -> tuple[str, str]:
    """Send one SMS; returns (backend name, message id) or raises DeliveryError."""
    backend = sms_backend()
    return backend.name, backend.send(phone, sms_text(text))
