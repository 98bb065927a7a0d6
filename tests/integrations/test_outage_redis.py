"""Redis stopped mid-stream (issue 13, items 3 and 10): a Redis of the test's own carries the
cache (replay checks, rate limits, the SLA reference version) and the channel layer; it is
killed while every channel keeps sending, then started again empty.

Decisions (docs/resilience.md): the website form, the website API and the look-up fail open
to per-process counting; the signed channels fail open on their replay check, which is made
once Redis is back. Counted: every message sent is a ticket exactly once, no answer is a 5xx,
and a replay slipped in during the outage is found afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers
from django.test import Client

from integrations.models import InboundMessage, ReplayCheck
from integrations.recovery import journal_recover
from tests.integrations import signed
from tests.servers import RedisServer
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.redis]
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
            "CONFIG": {"hosts": [server.url], "prefix": f"outage-{uuid.uuid4().hex[:8]}"},
        }
    }
    settings.WEBSITE_RATE_LIMIT = "1000/hour"
    channel_layers.backends.clear()
    yield server
    server.stop()
    channel_layers.backends.clear()


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


def test_nothing_is_lost_or_doubled_while_redis_is_away(
    client: Client, categories: dict, redis_server: RedisServer
) -> None:
    key = signed.accounts_create()
    sender = Sender(client, key)
    for _ in range(PER_PHASE):
        sender.each_channel()

    redis_server.stop()
    for _ in range(PER_PHASE):
        sender.each_channel()
    # A replay slipped in during the outage: a signed query captured from a message sent
    # now, carrying another body (plain mode signs only the query).
    query = signed.wechat_query()
    signed.wechat_post(
        client, signed.wechat_text("真实的消息", msg_id=9_000_001, sender="oReal"), query=query
    )
    forged = signed.wechat_text("伪造的消息", msg_id=9_000_002, sender="oForged")
    assert signed.wechat_post(client, forged, query=query).status_code == 200  # fail open
    assert ReplayCheck.objects.count() >= 3 * PER_PHASE  # every signed push of the outage

    redis_server.start()  # empty: what it knew before the outage is gone
    for _ in range(PER_PHASE):
        sender.each_channel()
    result = journal_recover()

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
    assert len(found) == len(set(found)) == sent == 5 * 3 * PER_PHASE  # 0 lost, 0 doubled
    assert Ticket.objects.count() == sent + 2  # and the two of the replay

    assert ReplayCheck.objects.count() == 0 and result.replays.replays == 1
    flagged = InboundMessage.objects.get(channel="wechat", headers__replay_check="replay")
    assert b"9000002" in bytes(flagged.raw_body)
    assert TicketEvent.objects.filter(ticket=flagged.ticket, kind="replay_suspected").exists()
