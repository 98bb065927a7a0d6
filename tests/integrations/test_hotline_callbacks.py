"""12345 callbacks: written as outbox rows inside the change's transaction, sent afterwards by
``process_hotline_callbacks`` to a real HTTP server, signed, retried with backoff."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from integrations.hotline import signing
from integrations.hotline.callbacks import KIND
from integrations.hotline.transport import (
    MAX_ATTEMPTS,
    process_hotline_callbacks,
    retry_delay,
    send_callback,
)
from integrations.models import OutboxMessage
from integrations.outbound.base import DeliveryError
from tests.conftest import requires_postgres
from tests.integrations.test_hotline_units import (
    ORDER_NO,
    SECRET,
    SLUG,
    hotline_account,
    order,
    push,
)
from tickets import services
from tickets.models import Ticket
from tickets.services.extensions import ticket_extension_request

START = dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai, a Tuesday


class Platform:
    """A 12345 platform on 127.0.0.1: verifies each callback's signature and answers with the
    next status from ``statuses`` (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.bad_signatures = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = signing.signature_valid(
                    SECRET,
                    self.headers.get(signing.TIMESTAMP_HEADER, ""),
                    self.headers.get(signing.NONCE_HEADER, ""),
                    body,
                    self.headers.get(signing.SIGNATURE_HEADER, ""),
                )
                if not ok:
                    platform.bad_signatures += 1
                status = platform.statuses.pop(0) if platform.statuses else 200
                platform.received.append(
                    {
                        "path": self.path,
                        "body": json.loads(body),
                        "idempotency_key": self.headers.get("Idempotency-Key"),
                        "status": status,
                    }
                )
                self.send_response(status if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"code": 0}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/qingshan/openapi"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform() -> Iterator[Platform]:
    server = Platform()
    yield server
    server.close()


@pytest.fixture
def setup(platform: Platform, departments: Any, cast: dict[str, Any]) -> dict[str, Any]:
    hotline_account(callback_base=platform.base)
    return {"departments": departments, "cast": cast}


def dispatch(client: Client, order_no: str = ORDER_NO) -> Ticket:
    response = push(client, order(order_no=order_no), now=START.timestamp())
    assert response.status_code == 200, response.content
    return Ticket.objects.get(case_no=response.json()["case_no"])


def assigned(client: Client, setup: dict[str, Any], order_no: str = ORDER_NO) -> Ticket:
    ticket = dispatch(client, order_no)
    services.ticket_assign(
        actor=setup["cast"]["dispatcher"],
        ticket_id=ticket.pk,
        department_id=setup["departments"]["a"].pk,
    )
    return ticket


def callbacks() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=KIND).order_by("id"))


@pytest.fixture(autouse=True)
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


# --- what is written, and when ------------------------------------------------------------------


def test_it_writes_the_callback_inside_the_transaction_and_sends_nothing_there(
    setup: dict[str, Any], platform: Platform, client: Client
) -> None:
    ticket = assigned(client, setup)
    with transaction.atomic():
        services.ticket_accept(actor=setup["cast"]["handler_a"], ticket_id=ticket.pk)
        rows = callbacks()
        assert len(rows) == 1  # the row exists in the change's own transaction …
    assert platform.received == []  # … and nothing went out during it
    row = rows[0]
    assert (row.status, row.channel, row.account.slug, row.ticket_id) == (
        "pending",
        "hotline",
        SLUG,
        ticket.pk,
    )
    event = ticket.events.get(kind="accept")
    assert row.idempotency_key == f"hotline:{event.pk}"
    assert row.next_attempt_at == row.created_at == timezone.now()
    assert process_hotline_callbacks() == 1
    assert platform.received[0]["path"] == "/qingshan/openapi/callbacks"
    assert platform.received[0]["idempotency_key"] == row.idempotency_key


def test_it_writes_no_callback_for_other_channels_or_other_events(
    setup: dict[str, Any], client: Client, make_ticket: Any
) -> None:
    ticket = make_ticket()
    cast = setup["cast"]
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=setup["departments"]["a"].pk
    )
    services.ticket_accept(actor=cast["handler_a"], ticket_id=ticket.pk)
    hotline = dispatch(client)
    push(client, order(event="urge", message="快"), now=START.timestamp())
    services.ticket_add_note(actor=cast["dispatcher"], ticket_id=hotline.pk, text="内部备注")
    assert callbacks() == []


def test_it_sends_the_right_body_for_each_of_the_four_events(
    setup: dict[str, Any], platform: Platform, client: Client
) -> None:
    handler = setup["cast"]["handler_a"]
    first = assigned(client, setup)
    services.ticket_accept(actor=handler, ticket_id=first.pk)
    ticket_extension_request(actor=handler, ticket_id=first.pk, days=3, reason="需协调铁路部门")
    services.ticket_reply(actor=handler, ticket_id=first.pk, content="已疏通排水设施，积水已排除。")
    second = assigned(client, setup, order_no="QS2026051200002")
    services.ticket_return(actor=handler, ticket_id=second.pk, reason="不属于本单位职责")

    assert process_hotline_callbacks() == 4
    assert platform.bad_signatures == 0
    bodies = {item["body"]["event"]: item["body"] for item in platform.received}
    at = "2026-05-12T10:00:00+08:00"
    assert bodies["accepted"] == {
        "order_no": ORDER_NO,
        "version": 1,
        "event": "accepted",
        "at": at,
        "case_no": first.case_no,
        "department": "城管局",
        "handler": "handler_a",
    }
    assert bodies["extension_requested"] == {
        "order_no": ORDER_NO,
        "version": 1,
        "event": "extension_requested",
        "at": at,
        "case_no": first.case_no,
        "days": 3,
        "reason": "需协调铁路部门",
    }
    assert bodies["replied"] == {
        "order_no": ORDER_NO,
        "version": 1,
        "event": "replied",
        "at": at,
        "case_no": first.case_no,
        "content": "已疏通排水设施，积水已排除。",
        "handler": "handler_a",
        "department": "城管局",
    }
    assert bodies["returned"] == {
        "order_no": "QS2026051200002",
        "version": 1,
        "event": "returned",
        "at": at,
        "case_no": second.case_no,
        "reason": "不属于本单位职责",
        "department": "城管局",
    }
    # One ticket's callbacks reach the platform in the order they happened.
    order_of_first = [
        item["body"]["event"] for item in platform.received if item["body"]["order_no"] == ORDER_NO
    ]
    assert order_of_first == ["accepted", "extension_requested", "replied"]
    assert {row.status for row in callbacks()} == {"sent"}
    assert {row.via for row in callbacks()} == {"hotline"}


def test_it_carries_the_platform_version_after_a_redispatch(
    setup: dict[str, Any], platform: Platform, client: Client
) -> None:
    ticket = dispatch(client)
    push(client, order(version=2, content="重新派单"), now=START.timestamp())
    services.ticket_assign(
        actor=setup["cast"]["dispatcher"],
        ticket_id=ticket.pk,
        department_id=setup["departments"]["a"].pk,
    )
    services.ticket_accept(actor=setup["cast"]["handler_a"], ticket_id=ticket.pk)
    assert callbacks()[0].payload["version"] == 2


# --- retries ------------------------------------------------------------------------------------


def test_it_retries_with_backoff_until_the_platform_answers_2xx(
    setup: dict[str, Any],
    platform: Platform,
    client: Client,
    frozen: time_machine.Coordinates,
) -> None:
    ticket = assigned(client, setup)
    services.ticket_accept(actor=setup["cast"]["handler_a"], ticket_id=ticket.pk)
    platform.statuses = [500, 500]

    assert process_hotline_callbacks() == 1
    row = callbacks()[0]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == START + dt.timedelta(seconds=30)
    assert "HTTP 500" in row.last_error

    frozen.shift(dt.timedelta(seconds=29))
    assert process_hotline_callbacks() == 0  # not due yet: the backoff is honoured
    frozen.shift(dt.timedelta(seconds=1))
    assert process_hotline_callbacks() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at == START + dt.timedelta(seconds=90)

    frozen.shift(dt.timedelta(seconds=60))
    assert process_hotline_callbacks() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.via, row.last_error) == ("sent", 3, "hotline", "")
    assert row.sent_at == START + dt.timedelta(seconds=90)
    assert [item["status"] for item in platform.received] == [500, 500, 200]
    assert len({item["body"]["at"] for item in platform.received}) == 1  # the same callback
    assert process_hotline_callbacks() == 0


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (11, 3600)],
)
def test_it_backs_off_exponentially_up_to_an_hour(attempts: int, seconds: int) -> None:
    assert retry_delay(attempts) == dt.timedelta(seconds=seconds)


def test_it_marks_a_callback_failed_after_twelve_attempts(
    setup: dict[str, Any],
    platform: Platform,
    client: Client,
    frozen: time_machine.Coordinates,
) -> None:
    ticket = assigned(client, setup)
    services.ticket_accept(actor=setup["cast"]["handler_a"], ticket_id=ticket.pk)
    platform.statuses = [503] * MAX_ATTEMPTS
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert process_hotline_callbacks() == 1
        row = callbacks()[0]
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert row.status == "pending"
            frozen.shift(retry_delay(attempt))
    assert (row.status, row.next_attempt_at) == ("failed", None)
    assert "HTTP 503" in row.last_error
    frozen.shift(dt.timedelta(days=1))
    assert process_hotline_callbacks() == 0


def test_it_waits_for_an_earlier_callback_of_the_same_ticket(
    setup: dict[str, Any],
    platform: Platform,
    client: Client,
    frozen: time_machine.Coordinates,
) -> None:
    handler = setup["cast"]["handler_a"]
    ticket = assigned(client, setup)
    services.ticket_accept(actor=handler, ticket_id=ticket.pk)
    services.ticket_reply(actor=handler, ticket_id=ticket.pk, content="已办结。")
    platform.statuses = [500]
    assert process_hotline_callbacks() == 1  # the accepted one failed; replied must wait
    assert [item["body"]["event"] for item in platform.received] == ["accepted"]
    frozen.shift(dt.timedelta(seconds=30))
    assert process_hotline_callbacks() == 2
    assert [item["body"]["event"] for item in platform.received] == [
        "accepted",
        "accepted",
        "replied",
    ]


def test_it_retries_when_the_platform_cannot_be_reached(
    setup: dict[str, Any], client: Client
) -> None:
    ticket = assigned(client, setup)
    services.ticket_accept(actor=setup["cast"]["handler_a"], ticket_id=ticket.pk)
    row = callbacks()[0]
    assert row.account is not None
    row.account.config = {"callback_base": "http://127.0.0.1:9/closed"}
    row.account.save()
    with pytest.raises(DeliveryError) as caught:
        send_callback(OutboxMessage.objects.select_related("account").get(pk=row.pk))
    assert caught.value.permanent is False
    assert process_hotline_callbacks() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error


def test_it_marks_a_callback_without_an_account_undeliverable(
    setup: dict[str, Any], client: Client
) -> None:
    ticket = assigned(client, setup)
    services.ticket_accept(actor=setup["cast"]["handler_a"], ticket_id=ticket.pk)
    OutboxMessage.objects.filter(kind=KIND).update(account=None)
    assert process_hotline_callbacks() == 1
    row = callbacks()[0]
    assert (row.status, row.attempts) == ("undeliverable", 1)
    assert "账号" in row.last_error


@requires_postgres
def test_it_sends_each_callback_once_with_two_workers_at_once(
    transactional_db: Any, platform: Platform, departments: Any, cast: dict[str, Any]
) -> None:
    account = hotline_account(callback_base=platform.base)
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                kind=KIND,
                channel="hotline",
                account=account,
                payload={"order_no": f"QS{n}", "version": 1, "event": "accepted"},
                idempotency_key=f"hotline:test-{n}",
                created_at=timezone.now(),
                next_attempt_at=timezone.now(),
            )
            for n in range(12)
        ]
    )
    counts: list[int] = []

    def worker() -> None:
        try:
            counts.append(process_hotline_callbacks())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    keys = [item["idempotency_key"] for item in platform.received]
    assert sorted(keys) == sorted(f"hotline:test-{n}" for n in range(12))
    assert sum(counts) == 12
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
