"""Thousands of malformed, correctly signed messages to every channel endpoint (issue 13,
item 10), from a seeded generator (tests/integrations/fuzz.py): never a 5xx, and every signed
message is in the journal afterwards (stored, then parsed or refused with a reason).

``FUZZ_SEED`` picks another corpus; ``FUZZ_SCALE`` multiplies its size (default 1: ~3,200
requests). A failure names the seed and the body, so it can be replayed."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client

from integrations.models import InboundMessage
from tests.integrations import signed
from tests.integrations.fuzz import Fuzzer

pytestmark = pytest.mark.django_db
SEED = int(os.environ.get("FUZZ_SEED", "20261204"))
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
SIZES = {"wechat": 700, "wechat-safe": 300, "weibo": 700, "hotline": 700, "open311": 300}
SIZES |= {"website-api": 300, "website-form": 200}
TOTALS: Counter[str] = Counter()


def _count(name: str) -> int:
    return max(1, int(SIZES[name] * SCALE))


@pytest.fixture
def door(db: Any, categories: dict, settings: Any) -> str:
    cache.clear()
    settings.WEBSITE_RATE_LIMIT = "100000/hour"
    return signed.accounts_create()


def _check(answer: Any, channel: str, index: int, body: bytes) -> None:
    TOTALS[channel] += 1
    TOTALS["5xx"] += answer.status_code >= 500
    assert answer.status_code < 500, (
        f"seed {SEED} {channel} #{index}: {answer.status_code} for {body[:300]!r}: "
        f"{answer.content[:300]!r}"
    )


def _journaled(channel: str, body: bytes, index: int, answer: Any = None) -> None:
    assert InboundMessage.objects.filter(channel=channel, raw_body=body).exists(), (
        f"seed {SEED} {channel} #{index}: a signed message is not in the journal: {body[:300]!r}"
        + (f" (answered {answer.status_code} {answer.content[:200]!r})" if answer else "")
    )


def _wechat_fields(fuzzer: Fuzzer) -> dict[str, str]:
    serial = fuzzer.next_id()
    return {
        "ToUserName": signed.WECHAT_GH,
        "FromUserName": f"oFuzz{serial:08d}",
        "CreateTime": str(int(time.time())),
        "MsgType": "text",
        "Content": "小区门口的路灯坏了一个星期了",
        "MsgId": str(7_000_000_000 + serial),
    }


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
def test_wechat_survives_its_fuzz_corpus(client: Client, door: str, safe: bool) -> None:
    fuzzer = Fuzzer(SEED + safe)
    name = "wechat-safe" if safe else "wechat"
    for index in range(_count(name)):
        body = fuzzer.bend_xml(_wechat_fields(fuzzer), 1024 * 1024)
        query = signed.wechat_query()
        if safe:
            envelope, query = signed.wechat_safe_body(body, query)
            answer = client.post(
                f"/integrations/wechat/{signed.SLUGS['wechat-safe']}/?{urlencode(query)}",
                envelope,
                content_type="text/xml",
            )
            _check(answer, name, index, body)
            _journaled("wechat", envelope, index)
            continue
        extra = fuzzer.extra_query()
        answer = signed.wechat_post(client, body, query={**extra, **query})
        _check(answer, name, index, body)
        if answer.status_code == 403:  # an added msg_signature that does not verify
            assert "msg_signature" in extra, answer.content
            continue
        _journaled("wechat", body, index, answer)


def test_weibo_survives_its_fuzz_corpus(client: Client, door: str) -> None:
    fuzzer = Fuzzer(SEED + 2)
    for index in range(_count("weibo")):
        valid = json.loads(signed.weibo_text("长江路夜市油烟扰民", sender=3_000_000_000 + index))
        body = fuzzer.bend_json(valid, 64 * 1024)
        answer = signed.weibo_post(
            client, body, query={**fuzzer.extra_query(), **signed.weibo_query()}
        )
        _check(answer, "weibo", index, body)
        _journaled("weibo", body, index)


def test_hotline_survives_its_fuzz_corpus(client: Client, door: str) -> None:
    fuzzer = Fuzzer(SEED + 3)
    for index in range(_count("hotline")):
        valid = signed.hotline_order(f"FUZZ-{index:06d}")
        valid["event"] = fuzzer.random.choice(["dispatch"] * 4 + ["urge", "feedback", "recall"])
        body = fuzzer.bend_json(valid, 1024 * 1024)
        answer = signed.hotline_post(client, body)
        _check(answer, "hotline", index, body)
        _journaled("hotline", body, index)


def test_open311_survives_its_fuzz_corpus(client: Client, door: str) -> None:
    fuzzer = Fuzzer(SEED + 4)
    names = ["service_code", "description", "lat", "long", "phone", "email", "address_string"]
    names += ["first_name", "last_name", "media_url", "attribute[request_type]", fuzzer.form_text()]
    for index in range(_count("open311")):
        fields = {"service_code": "lights", "description": "建设路路灯坏了一个多星期"}
        for _ in range(fuzzer.random.randint(1, 3)):
            fields[fuzzer.random.choice(names)] = fuzzer.form_text()
        before = InboundMessage.objects.filter(channel="open311").count()
        fmt = fuzzer.random.choice(["json", "xml"])
        answer = signed.open311_post(client, door, fmt=fmt, **fields)
        _check(answer, "open311", index, repr(fields).encode("utf-8", "replace"))
        journaled = InboundMessage.objects.filter(channel="open311").count() - before
        assert journaled == 1, f"seed {SEED} open311 #{index}: {fields!r} journaled {journaled}"


def test_the_website_survives_its_fuzz_corpus(client: Client, door: str) -> None:
    fuzzer = Fuzzer(SEED + 5)
    valid = {"phone": "13800001234", "title": "路灯", "content": "建设路路灯坏了一个多星期。"}
    for index in range(_count("website-api")):
        body = fuzzer.bend_json(valid, 1024 * 1024)
        answer = client.post("/api/v1/website/tickets/", body, content_type="application/json")
        _check(answer, "website-api", index, body)
    for index in range(_count("website-form")):
        fields = dict(valid)
        for _ in range(fuzzer.random.randint(1, 3)):
            key = fuzzer.random.choice([*fields, "email", "category", "token", "confidential"])
            fields[key] = fuzzer.form_text()
        answer = client.post("/", fields)
        _check(answer, "website-form", index, repr(fields).encode("utf-8", "replace"))


def test_zz_report_the_fuzz_totals(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the corpus size and the 5xx count (run last in this module, for the issue note)."""
    total = sum(count for name, count in TOTALS.items() if name != "5xx")
    with capsys.disabled():
        print(f"\nfuzz seed {SEED}: {total} requests, {TOTALS['5xx']} answered 5xx: {dict(TOTALS)}")
    assert TOTALS["5xx"] == 0
