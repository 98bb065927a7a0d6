"""Redis away mid-stream (issue 13, items 3 and 10): a Redis of the test's own carries the
cache (rate limits, the SLA reference version) and the channel layer (live updates, sent after
each commit: the test commits for real); it is killed while every channel keeps sending,
started again empty, then hung (stopped with SIGSTOP: it accepts connections and never
answers), then resumed.

Decisions (docs/resilience.md): the website form, the website API and the look-up fail open
to per-process counting; live updates are dropped (the inbox catches up on reconnect); the
signed channels' replay check is the journal's own and needs no Redis. Counted: every message
sent is a ticket exactly once, no answer is a 5xx, and a replayed signed query is refused in
every phase."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers
from django.test import Client

from config.cache import redis_circuit
from integrations.models import InboundMessage
from tests.integrations import signed
from tests.servers import RedisServer
from tickets import live
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]
PER_PHASE = 6  # messages per channel per phase (before, during, after the outage)


@pytest.fixture
def redis_server(tmp_path: Path, settings: Any) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 1}
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": server.url,
            "OPTIONS": options,
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": server.url, **options}],
                "prefix": f"outage-{uuid.uuid4().hex[:8]}",
            },
        }
    }
    settings.WEBSITE_RATE_LIMIT = "1000/hour"
    channel_layers.backends.clear()
    redis_circuit.reset()
    live._layer_down_until[0] = 0.0
    yield server
    server.stop()
    channel_layers.backends.clear()
    redis_circuit.reset()
    live._layer_down_until[0] = 0.0


class Sender:
    """Sends one message of each channel per call and remembers how to find its ticket."""

    def __init__(self, client: Client, key: str) -> None:
        self.client, self.key, self.serial = client, key, 0
        self.statuses: list[tuple[str, int]] = []
        self.keys: list[tuple[str, str]] = []  # (journal channel, dedupe key prefix)

    def each_channel(self) -> None:
        self.serial += 1
        n = self.serial
        wechat = signed.wechat_text(
            f"第{n}件：小区门口路灯坏了", msg_id=8_000_000 + n, sender=f"oOut{n:06d}"
        )
        self._sent("wechat", signed.wechat_post(self.client, wechat))
        self.keys.append(("wechat", f"{signed.SLUGS['wechat']}:msg:{8_000_000 + n}"))
        weibo = signed.weibo_text(f"第{n}件：夜市油烟扰民", sender=4_000_000_000 + n)
        self._sent("weibo", signed.weibo_post(self.client, weibo))
        self.keys.append(("weibo", f"{signed.SLUGS['weibo']}:{4_000_000_000 + n}:"))
        order = signed.hotline_order(f"OUT-{n:05d}")
        self._sent("hotline", signed.hotline_post(self.client, order))
        self.keys.append(("hotline", f"{signed.SLUGS['hotline']}:OUT-{n:05d}:dispatch:1"))
        form = {"phone": f"1380000{n:04d}", "title": "路灯", "content": f"第{n}件：路灯坏了一周。"}
        form["token"] = f"{n:032x}"
        self._sent("website-form", self.client.post("/", form))
        self.keys.append(("website", f"form:{n:032x}"))
        body = {**form, "idempotency_key": f"out-{n}"}
        body.pop("token")
        answer = self.client.post(
            "/api/v1/website/tickets/", json.dumps(body), content_type="application/json"
        )
        self._sent("website-api", answer)
        self.keys.append(("website", f"api:out-{n}:"))

    def _sent(self, channel: str, answer: Any) -> None:
        self.statuses.append((channel, answer.status_code))


def _replay_refused(client: Client, n: int) -> None:
    """A signed query used by one message, captured and sent again with another body."""
    query = signed.wechat_query()
    real = signed.wechat_text("真实的消息", msg_id=9_000_000 + 2 * n, sender=f"oReal{n}")
    assert signed.wechat_post(client, real, query=query).status_code == 200
    forged = signed.wechat_text("伪造的消息", msg_id=9_000_001 + 2 * n, sender=f"oForged{n}")
    answer = signed.wechat_post(client, forged, query=query)
    assert answer.status_code == 403 and "重复" in answer.content.decode()


def test_nothing_is_lost_or_doubled_while_redis_is_away(
    client: Client, categories: dict, redis_server: RedisServer
) -> None:
    key = signed.accounts_create()
    sender = Sender(client, key)
    captured = signed.wechat_query()  # used before the outage, replayed after it
    first = signed.wechat_text("出事前的消息", msg_id=9_100_000, sender="oBefore")
    assert signed.wechat_post(client, first, query=captured).status_code == 200
    for _ in range(PER_PHASE):
        sender.each_channel()
    _replay_refused(client, 1)

    redis_server.stop()
    for _ in range(PER_PHASE):
        sender.each_channel()
    _replay_refused(client, 2)

    redis_server.start()  # empty: what it knew before the outage is gone
    redis_circuit.reset()
    for _ in range(PER_PHASE):
        sender.each_channel()
    _replay_refused(client, 3)
    forged = signed.wechat_text("伪造的消息", msg_id=9_100_001, sender="oForged")
    assert signed.wechat_post(client, forged, query=captured).status_code == 403

    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)  # hung: connects, never answers
    try:
        for _ in range(PER_PHASE):
            sender.each_channel()
        _replay_refused(client, 4)
    finally:
        redis_server.process.send_signal(signal.SIGCONT)

    server_errors = [(channel, status) for channel, status in sender.statuses if status >= 500]
    assert server_errors == []
    assert {status for _channel, status in sender.statuses} <= {200, 201, 302}
    sent = len(sender.keys)
    found: list[int] = []
    for channel, prefix in sender.keys:
        rows = InboundMessage.objects.filter(channel=channel, dedupe_key__startswith=prefix)
        tickets = {row.ticket_id for row in rows if row.ticket_id is not None}
        assert len(tickets) == 1, (channel, prefix, list(rows.values("status", "reason")))
        found.extend(tickets)
    assert len(found) == len(set(found)) == sent == 5 * 4 * PER_PHASE  # 0 lost, 0 doubled
    # And the messages of the replay checks: one before, four real ones; no forgery.
    assert Ticket.objects.count() == sent + 5
    assert not Ticket.objects.filter(content__contains="伪造").exists()
