"""Replays the channel fixture scenarios (tests/fixtures/channels/*.json) as their `about`
text describes: fresh database and cache per scenario, accounts created with the
`channel_account` command, time frozen at each step's `now`, captured values substituted,
every `expect` key checked (see each file's `expect_keys`)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import struct
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import time_machine
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client

from integrations.models import InboundMessage
from tickets.models import Ticket

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"


@cache
def load(channel: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{channel}.json").read_text(encoding="utf-8"))


def scenario_names(channel: str) -> list[str]:
    return [scenario["name"] for scenario in load(channel)["scenarios"]]


def create_accounts(channel: str) -> None:
    for account in load(channel)["accounts"]:
        options = []
        for key, value in account.items():
            if key in ("slug", "kind"):
                continue
            options += ["--" + key.replace("_", "-"), str(value)]
        call_command("channel_account", account["kind"], "--slug", account["slug"], *options)


def substitute(value: Any, captures: dict[str, str]) -> Any:
    """Plain string replacement of every literal {name}, never str.format."""
    if isinstance(value, str):
        for name, captured in captures.items():
            value = value.replace("{" + name + "}", captured)
        return value
    if isinstance(value, list):
        return [substitute(item, captures) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, captures) for key, item in value.items()}
    return value


def _account_for(channel: str, path: str) -> dict[str, Any]:
    for account in load(channel)["accounts"]:
        if f"/{account['slug']}/" in path + "/":
            return account
    raise AssertionError(f"no account in the fixture matches {path}")


def wechat_reply_xml(body: str, account: dict[str, Any]) -> ET.Element:
    """The reply XML, decrypted and verified when it carries <Encrypt>."""
    root = ET.fromstring(body)
    encrypted = root.find("Encrypt")
    if encrypted is None:
        return root
    text = encrypted.text or ""
    timestamp, nonce = root.findtext("TimeStamp") or "", root.findtext("Nonce") or ""
    expected = hashlib.sha1(
        "".join(sorted([account["token"], timestamp, nonce, text])).encode()
    ).hexdigest()
    assert root.findtext("MsgSignature") == expected, "reply MsgSignature does not verify"
    key = base64.b64decode(account["encoding_aes_key"] + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(text)) + decryptor.finalize()
    pad = plain[-1]
    assert 1 <= pad <= 32, "bad PKCS#7 padding in the reply"
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    message, app_id = plain[20 : 20 + length], plain[20 + length :]
    assert app_id.decode() == account["app_id"], "reply AppID is not the account's"
    return ET.fromstring(message.decode("utf-8"))


def weibo_reply_text(body: str) -> str:
    data = json.loads(body)
    return str(json.loads(unquote(data["data"]))["text"])


def _json_equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, int) and not isinstance(expected, bool):
        return actual == expected or (isinstance(actual, str) and actual == str(expected))
    return actual == expected  # type: ignore[no-any-return]


def _instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def check_ticket(expected: dict[str, Any], where: str) -> None:
    ticket = Ticket.objects.order_by("-id").first()
    assert ticket is not None, f"{where}: no ticket"
    for key, value in expected.items():
        if key == "content_contains":
            for part in value:
                assert part in ticket.content, f"{where}: content lacks {part!r}"
        elif key in ("received_at", "resolve_due_at"):
            assert getattr(ticket, key) == _instant(value), (
                f"{where}: ticket.{key} {getattr(ticket, key).isoformat()} != {value}"
            )
        else:
            assert getattr(ticket, key) == value, (
                f"{where}: ticket.{key} {getattr(ticket, key)!r} != {value!r}"
            )


def run_step(channel: str, step: dict[str, Any], captures: dict[str, str], client: Client) -> None:
    where = step["name"]
    request = step["request"]
    expect = substitute(step["expect"], captures)
    if request.get("body_base64") is not None:
        body = base64.b64decode(request["body_base64"])
    elif request.get("body") is not None:
        body = substitute(request["body"], captures).encode("utf-8")
    else:
        body = b""
    if request.get("pad_to_bytes"):
        body += b" " * (request["pad_to_bytes"] - len(body))
    url = request["path"]
    if request.get("query"):
        url += "?" + urlencode(request["query"])
    tickets_before, journal_before = Ticket.objects.count(), InboundMessage.objects.count()
    last_journal_id = (
        InboundMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
    )
    moment = dt.datetime.fromtimestamp(step["now"], tz=dt.UTC)
    with time_machine.travel(moment, tick=False):
        response = client.generic(
            request["method"],
            url,
            data=body,
            content_type=request.get("content_type") or "",
            headers=request.get("headers") or {},
        )
    text = response.content.decode("utf-8", errors="replace")
    assert response.status_code < 500, f"{where}: server error {response.status_code}: {text[:500]}"
    if "status" in expect:
        assert response.status_code == expect["status"], (
            f"{where}: status {response.status_code} != {expect['status']}: {text[:300]}"
        )

    reply_root: ET.Element | None = None
    if any(k in expect for k in ("reply_fields", "reply_decrypted_contains", "capture_decrypted")):
        reply_root = wechat_reply_xml(text, _account_for(channel, request["path"]))
    reply_xml = ET.tostring(reply_root, encoding="unicode") if reply_root is not None else ""

    for name, pattern in expect.get("capture", {}).items():
        match = re.search(pattern, text)
        assert match, f"{where}: capture {name} /{pattern}/ not in {text[:300]}"
        captures[name] = match.group(0)
    for name, pattern in expect.get("capture_decrypted", {}).items():
        match = re.search(pattern, reply_xml)
        assert match, f"{where}: capture_decrypted {name} not in {reply_xml[:300]}"
        captures[name] = match.group(0)
    for name, pattern in expect.get("capture_reply_text", {}).items():
        reply_text = weibo_reply_text(text)
        match = re.search(pattern, reply_text)
        assert match, f"{where}: capture_reply_text {name} not in {reply_text[:300]}"
        captures[name] = match.group(0)
    expect = substitute(expect, captures)

    if "body_equals" in expect:
        assert text == expect["body_equals"], f"{where}: body {text[:300]!r}"
    for part in expect.get("body_contains", []):
        assert part in text, f"{where}: body lacks {part!r}: {text[:300]}"
    if "content_type_prefix" in expect:
        assert response.get("Content-Type", "").startswith(expect["content_type_prefix"]), (
            f"{where}: Content-Type {response.get('Content-Type')!r}"
        )
    if reply_root is not None:
        for element, value in expect.get("reply_fields", {}).items():
            assert reply_root.findtext(element) == value, (
                f"{where}: reply {element} {reply_root.findtext(element)!r} != {value!r}"
            )
        for part in expect.get("reply_decrypted_contains", []):
            assert part in reply_xml, f"{where}: reply XML lacks {part!r}: {reply_xml[:300]}"
    if "json_fields" in expect:
        data = json.loads(text)
        for key, value in expect["json_fields"].items():
            assert _json_equal(data.get(key), value), (
                f"{where}: json {key} {data.get(key)!r} != {value!r}"
            )
    for part in expect.get("reply_text_contains", []):
        assert part in weibo_reply_text(text), f"{where}: reply text lacks {part!r}"
    if "tickets_delta" in expect:
        delta = Ticket.objects.count() - tickets_before
        assert delta == expect["tickets_delta"], f"{where}: tickets_delta {delta}"
    if "journal_delta" in expect:
        delta = InboundMessage.objects.count() - journal_before
        assert delta == expect["journal_delta"], f"{where}: journal_delta {delta}"
    if "journal_status" in expect:
        row = InboundMessage.objects.filter(id__gt=last_journal_id).order_by("-id").first()
        assert row is not None, f"{where}: the step created no journal row"
        assert row.status == expect["journal_status"], (
            f"{where}: journal status {row.status} ({row.reason}) != {expect['journal_status']}"
        )
    if "ticket" in expect:
        check_ticket(expect["ticket"], where)


def run_scenario(channel: str, name: str, client: Client) -> None:
    """Run one scenario against the current (fresh, per-test) database."""
    for alias in caches:
        caches[alias].clear()
    create_accounts(channel)
    scenario = next(s for s in load(channel)["scenarios"] if s["name"] == name)
    captures: dict[str, str] = {}
    for step in scenario["steps"]:
        run_step(channel, step, captures, client)
