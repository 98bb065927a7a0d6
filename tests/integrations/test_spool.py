"""The local spool (integrations/spool.py) on its own: a push kept while the database is away
is replayed through its endpoint with the time it arrived, once however often it is replayed,
refused files are set aside (never deleted), and pushes nobody could check get a small quota."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from integrations import spool
from integrations.models import InboundMessage
from tests.integrations import signed
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def spool_dir(tmp_path: Path, settings: Any, categories: dict) -> Path:
    cache.clear()
    settings.INBOUND_SPOOL_DIR = tmp_path / "spool"
    spool._usage.update(at=0.0, all=0, unverified=0)
    signed.accounts_create()
    return Path(settings.INBOUND_SPOOL_DIR)


def _wechat_request(body: bytes, *, sent_at: float) -> Any:
    query = signed.wechat_query(timestamp=int(sent_at))
    path = f"/integrations/wechat/{signed.SLUGS['wechat']}/"
    return RequestFactory().post(f"{path}?{urlencode(query)}", body, content_type="text/xml")


def test_a_spooled_push_is_taken_in_once_with_the_time_it_arrived(spool_dir: Path) -> None:
    arrived = time.time() - 1800  # half an hour ago, while the database was away
    body = signed.wechat_text("小区门口路灯坏了一周了", msg_id=77, sender="oSpool")
    request = _wechat_request(body, sent_at=arrived)
    path = spool.spool_write(request, channel="wechat", slug=signed.SLUGS["wechat"], verified=True)
    kept = json.loads(path.read_text())
    kept["received_at"] = arrived  # as written then: it waited while the database was away
    path.write_text(json.dumps(kept))
    twice = path.with_name(path.name.replace(".json", "-again.json"))
    twice.write_bytes(path.read_bytes())  # the process died before it could unlink the first

    result = spool.spool_drain()
    assert result.replayed == 2 and result.failed == 0 and not list(spool_dir.glob("*.json"))
    ticket = Ticket.objects.get()
    assert (
        abs((ticket.received_at - dt.datetime.fromtimestamp(arrived, tz=dt.UTC)).total_seconds())
        < 1
    )
    assert ticket.ack_due_at == ticket.received_at + dt.timedelta(minutes=30)
    row = InboundMessage.objects.get(channel="wechat")
    assert row.ticket == ticket and row.received_at == ticket.received_at
    # The citizen had no passive reply: the case number goes out as a message.
    assert ticket.outbox.filter(idempotency_key=f"received:{row.pk}").exists()


def test_a_push_refused_on_replay_is_set_aside_with_its_reason(spool_dir: Path) -> None:
    body = signed.wechat_text("路灯坏了", msg_id=78)
    request = _wechat_request(body, sent_at=time.time())
    request.GET = request.GET.copy()
    request.GET["signature"] = "0" * 40  # forged
    request.META["QUERY_STRING"] = request.GET.urlencode()
    spool.spool_write(request, channel="wechat", slug=signed.SLUGS["wechat"], verified=False)
    result = spool.spool_drain()
    assert result.failed == 1 and Ticket.objects.count() == 0
    (kept,) = (spool_dir / "failed").glob("*.json")
    assert "403" in (spool_dir / "failed" / f"{kept.name}.reason.txt").read_text()


def test_unchecked_pushes_only_get_their_small_quota(spool_dir: Path, settings: Any) -> None:
    settings.INBOUND_SPOOL_UNVERIFIED_MAX_BYTES = 2000
    body = b"<xml>" + b"x" * 1500 + b"</xml>"
    request = _wechat_request(body, sent_at=time.time())
    spool.spool_write(request, channel="wechat", slug="any", verified=False)
    with pytest.raises(spool.SpoolFull):
        spool.spool_write(request, channel="wechat", slug="any", verified=False)
    spool.spool_write(request, channel="wechat", slug="any", verified=True)  # checked: room
    names = sorted(path.name for path in spool_dir.glob("*.json"))
    assert len(names) == 2 and sum("-u-" in name for name in names) == 1
