"""Correctly signed requests for every channel endpoint, as each platform would send them (for
the hostile-input, fuzz and outage tests). Accounts are made with the same service the admin
and the ``channel_account`` command use."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from integrations.accounts import channel_account_save
from integrations.hotline import signing
from integrations.wechat import crypto
from tests.integrations.test_wechat_units import encrypt_for
from tickets.models_public import Open311ApiKey

WECHAT_TOKEN = "C0eZqNGbQOkjlAeuT68nPncuHLjA"
WECHAT_AES_KEY = "ygyCJirb+nJIliJm6vBL1WaBpI+BubxZ+ZbVw4zY/bA"
WECHAT_APP_ID = "wx6dd2a9fffcdd437a"
WECHAT_GH = "gh_ce9e00bef06c"
WEIBO_SECRET = "6b8aaad8683a67b7eca1daea76f6d909"
WEIBO_UID = 7208841469
HOTLINE_SECRET = "unit-test-secret-0123456789"
SLUGS = {"wechat": "wx-plain", "wechat-safe": "wx-safe", "weibo": "wb", "hotline": "qs-12345"}


def accounts_create() -> str:
    """Every channel's account; answers a fresh Open311 API key."""
    common = {
        "token": WECHAT_TOKEN,
        "app_id": WECHAT_APP_ID,
        "encoding_aes_key": WECHAT_AES_KEY,
        "original_id": WECHAT_GH,
    }
    channel_account_save(kind="wechat", slug=SLUGS["wechat"], values={**common, "mode": "plain"})
    channel_account_save(
        kind="wechat", slug=SLUGS["wechat-safe"], values={**common, "mode": "safe"}
    )
    channel_account_save(
        kind="weibo",
        slug=SLUGS["weibo"],
        values={
            "uid": str(WEIBO_UID),
            "app_key": "1",
            "app_secret": WEIBO_SECRET,
            "access_token": "t",
        },
    )
    channel_account_save(
        kind="hotline",
        slug=SLUGS["hotline"],
        values={"secret": HOTLINE_SECRET, "callback_base": "http://127.0.0.1:9/p"},
    )
    _key, raw = Open311ApiKey.issue(name="测试客户端")
    return raw


def wechat_text(text: str, *, msg_id: int, sender: str = "oTnj3EWCSaG8aIJDE1QATi-kSwWy") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{WECHAT_GH}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def wechat_query(*, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or os.urandom(6).hex()
    return {"signature": crypto.signature(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


def wechat_safe_body(xml: bytes, query: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The safe-mode envelope of ``xml`` and the query that signs it."""
    encrypted = encrypt_for(xml, app_id=WECHAT_APP_ID, key=WECHAT_AES_KEY)
    envelope = (
        f"<xml><ToUserName><![CDATA[{WECHAT_GH}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    ).encode()
    signature = crypto.signature(WECHAT_TOKEN, query["timestamp"], query["nonce"], encrypted)
    return envelope, {**query, "encrypt_type": "aes", "msg_signature": signature}


def wechat_post(
    client: Client, body: bytes, *, query: dict[str, str] | None = None, safe: bool = False
) -> Any:
    query = query or wechat_query()
    slug = SLUGS["wechat-safe" if safe else "wechat"]
    if safe:
        body, query = wechat_safe_body(body, query)
    return client.post(
        f"/integrations/wechat/{slug}/?{urlencode(query)}", body, content_type="text/xml"
    )


def weibo_query(*, nonce: str | None = None, at: float | None = None) -> dict[str, str]:
    from integrations.weibo import parser

    timestamp = str(int((at if at is not None else time.time()) * 1000))
    nonce = nonce or os.urandom(6).hex()
    signature = parser.signature_compute(app_secret=WEIBO_SECRET, timestamp=timestamp, nonce=nonce)
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def weibo_text(text: str, *, sender: int = 2132273433) -> bytes:
    body = {
        "type": "text",
        "receiver_id": WEIBO_UID,
        "sender_id": sender,
        "created_at": time.strftime("%a %b %d %H:%M:%S +0800 %Y"),
        "text": text,
        "data": {},
    }
    return json.dumps(body, ensure_ascii=False).encode()


def weibo_post(client: Client, body: bytes, *, query: dict[str, str] | None = None) -> Any:
    query = query or weibo_query()
    return client.post(
        f"/integrations/weibo/{SLUGS['weibo']}/?{urlencode(query)}",
        body,
        content_type="application/json",
    )


def hotline_order(order_no: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": "dispatch",
        "order_no": order_no,
        "version": 1,
        "accepted_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "caller_name": "王女士",
        "caller_phone": "15812872383",
        "request_type": "complaint",
        "title": "铁路桥下雨后积水严重",
        "content": "来电人反映：工业路铁路桥下每逢下雨积水深达半米。",
        "address": "工业路铁路桥下",
    }
    body.update(fields)
    return body


def hotline_post(client: Client, body: dict[str, Any] | bytes, *, nonce: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = signing.signed_headers(HOTLINE_SECRET, raw, now=time.time(), nonce=nonce)
    return client.post(
        f"/integrations/hotline/{SLUGS['hotline']}/orders",
        data=raw,
        content_type="application/json",
        headers=headers,
    )


def open311_post(client: Client, key: str, fmt: str = "json", **fields: str) -> Any:
    return client.post(f"/open311/v2/requests.{fmt}", {"api_key": key, **fields})


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
