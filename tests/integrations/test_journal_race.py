"""Two tries of one message at the same moment (WeChat retries after 5 s; a slow first try
may still be running) make exactly one ticket, and both get the same answer."""

from __future__ import annotations

import json
import time

import pytest

from integrations.journal import inbound_receive
from tests.conftest import requires_postgres, run_together
from tickets import services
from tickets.models import Ticket


def slow_parse(raw: bytes) -> services.IncomingMessage:
    data = json.loads(raw)
    time.sleep(0.3)  # both tries are past the journal before either has an answer
    return services.IncomingMessage(
        channel="wechat", sender_kind="wechat_openid", sender_id=data["from"], text=data["text"]
    )


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_tries_make_one_ticket_and_one_answer():
    raw = json.dumps({"from": "o-race", "text": "小区门口路灯不亮已经一周了"}).encode()

    def attempt() -> dict:
        outcome = inbound_receive(
            channel="wechat", dedupe_key="race-1", raw_body=raw, parse=slow_parse
        )
        return outcome.response

    answers = run_together(attempt, attempt)
    assert Ticket.objects.count() == 1
    assert answers[0] == answers[1]
    assert answers[0]["case_no"] == Ticket.objects.get().case_no
