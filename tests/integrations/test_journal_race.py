"""Two tries of one message at the same moment (WeChat retries after 5 s; a slow first try
may still be running) make exactly one ticket, and both get the same answer."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connections

from integrations.journal import inbound_receive
from tests.conftest import requires_postgres
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
    barrier = threading.Barrier(2)
    answers: list[dict] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            barrier.wait()
            outcome = inbound_receive(
                channel="wechat", dedupe_key="race-1", raw_body=raw, parse=slow_parse
            )
            answers.append(outcome.response)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Ticket.objects.count() == 1
    assert answers[0] == answers[1]
    assert answers[0]["case_no"] == Ticket.objects.get().case_no
