"""Races that only a real database shows: case numbers and two people acting on one ticket.

These run on PostgreSQL only (SQLite serialises every writer, so nothing would race). Each
thread has its own database connection (Django's connections are per thread) and closes it at
the end; the test database is committed to for real (``transaction=True``) and flushed
afterwards. Nothing here relies on the seeded SLA policies or calendar, which an earlier
transactional test may already have flushed away.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from tests.conftest import CHINA, requires_postgres, walk
from tickets import services
from tickets.errors import ConflictError
from tickets.models import CitizenIdentity, Department, Role, StaffProfile, Ticket

pytestmark = [
    requires_postgres,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

HOLD_SECONDS = 0.5


def run_in_threads(
    workers: list[Callable[[], Any]], *, barrier: threading.Barrier | None = None
) -> list[tuple[str, Any]]:
    """Run each worker in its own thread, all released at once; ("ok", value) or ("error", exc)."""
    barrier = barrier or threading.Barrier(len(workers))
    results: list[tuple[str, Any]] = [("pending", None)] * len(workers)

    def target(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", work())
        except Exception as exc:  # reported to the test, which decides
            results[index] = ("error", exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=target, args=(index, work)) for index, work in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a worker hung"
    return results


def intake_many(
    worker: int, *, count: int, received_at: dt.datetime, phone_prefix: str
) -> Callable[[], list[str]]:
    """A thread's work: ``count`` new cases from new citizens; returns their case numbers."""

    def work() -> list[str]:
        numbers = []
        for n in range(count):
            result = services.intake_message(
                message=services.IncomingMessage(
                    channel="website",
                    sender_kind=CitizenIdentity.Kind.PHONE,
                    sender_id=f"{phone_prefix}{worker:04d}{n:04d}",
                    text=f"第 {worker}-{n} 件：小区门口路灯不亮。",
                    may_follow_up=False,
                    received_at=received_at,
                )
            )
            assert result.action == "created" and result.ticket is not None
            numbers.append(result.ticket.case_no)
        return numbers

    return work


def test_it_hands_out_unique_case_numbers_under_concurrent_intake() -> None:
    threads, per_thread = 8, 25
    # One receipt moment for all, so every number belongs to the same day whatever the clock.
    received_at = dt.datetime(2025, 3, 12, 9, 30, tzinfo=CHINA)

    results = run_in_threads(
        [
            intake_many(worker, count=per_thread, received_at=received_at, phone_prefix="139")
            for worker in range(threads)
        ]
    )

    assert [status for status, _ in results] == ["ok"] * threads, results
    numbers = [number for _, batch in results for number in batch]
    assert len(numbers) == threads * per_thread == 200
    assert len(set(numbers)) == 200
    assert all(len(number) == 14 and number.isdigit() for number in numbers)
    assert {number[:8] for number in numbers} == {"20250312"}
    assert sorted(int(number[8:]) for number in numbers) == list(range(1, 201))
    assert Ticket.objects.count() == 200
    assert set(Ticket.objects.values_list("case_no", flat=True)) == set(numbers)


def _lock_holder(ticket_id: int, locked: threading.Event) -> Callable[[], None]:
    """Hold the ticket's row lock for a while, so the racers really queue behind it."""

    def work() -> None:
        with transaction.atomic():
            Ticket.objects.select_for_update().get(pk=ticket_id)
            locked.set()
            time.sleep(HOLD_SECONDS)

    return work


def _after(event: threading.Event, work: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``work`` once ``event`` is set; return (value, seconds taken) or raise with
    ``elapsed`` set on the exception."""

    def wrapped() -> Any:
        assert event.wait(timeout=10)
        started = time.monotonic()
        try:
            value = work()
        except Exception as exc:
            exc.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
            raise
        return value, time.monotonic() - started

    return wrapped


def _race(ticket_id: int, *racers: Callable[[], Any]) -> list[tuple[str, Any]]:
    locked = threading.Event()
    workers: list[Callable[[], Any]] = [_lock_holder(ticket_id, locked)]
    workers += [_after(locked, racer) for racer in racers]
    return run_in_threads(workers)[1:]


def _elapsed(outcome: tuple[str, Any]) -> float:
    status, value = outcome
    return float(value[1]) if status == "ok" else float(value.elapsed)


def _split(outcomes: list[tuple[str, Any]]) -> tuple[list[Any], list[Exception]]:
    wins = [value for status, value in outcomes if status == "ok"]
    losses = [value for status, value in outcomes if status == "error"]
    return wins, losses


def test_it_lets_exactly_one_of_two_handlers_accept_a_ticket(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = walk(make_ticket(department_code="a"), cast, departments, "assigned")
    version, events = ticket.version, ticket.events.count()

    outcomes = _race(
        ticket.pk,
        lambda: services.ticket_accept(actor=cast["handler_a"], ticket_id=ticket.pk),
        lambda: services.ticket_accept(actor=cast["supervisor_a"], ticket_id=ticket.pk),
    )

    wins, losses = _split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    loss = losses[0]
    assert isinstance(loss, ConflictError), repr(loss)
    assert loss.status == 409
    assert "办理中" in loss.message and ticket.case_no in loss.message
    assert "签收" in loss.message
    # Both really queued on the row lock held by the third transaction.
    assert min(_elapsed(outcome) for outcome in outcomes) >= HOLD_SECONDS * 0.8

    ticket.refresh_from_db()
    winner = wins[0][0]
    assert ticket.state == "in_progress"
    assert ticket.assignee_id == winner.assignee_id
    assert ticket.assignee_id in (cast["handler_a"].pk, cast["supervisor_a"].pk)
    assert ticket.version == version + 1
    assert ticket.events.count() == events + 1
    assert ticket.events.filter(kind="accept").count() == 1
    assert ticket.events.get(kind="accept").actor_id == ticket.assignee_id


def test_it_refuses_a_reply_racing_a_request_for_more(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = walk(make_ticket(department_code="a"), cast, departments, "in_progress")
    version, events = ticket.version, ticket.events.count()

    outcomes = _race(
        ticket.pk,
        lambda: services.ticket_reply(
            actor=cast["handler_a"], ticket_id=ticket.pk, content="已修复。"
        ),
        lambda: services.ticket_request_info(
            actor=cast["supervisor_a"], ticket_id=ticket.pk, question="请提供具体门牌号"
        ),
    )

    wins, losses = _split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert isinstance(losses[0], ConflictError), repr(losses[0])
    ticket.refresh_from_db()
    assert ticket.version == version + 1
    assert ticket.events.count() == events + 1
    assert ticket.state in ("replied", "waiting_citizen")
    assert ("答复" if ticket.state == "waiting_citizen" else "要求补充") in losses[0].message
    # The loser wrote nothing: no reply row unless the reply won.
    assert ticket.replies.count() == (1 if ticket.state == "replied" else 0)


def _dispatcher(username: str, department: Department) -> Any:
    user = get_user_model().objects.create_user(username=username, first_name=username)
    StaffProfile.objects.create(user=user, role=Role.DISPATCHER, department=department)
    return user


@pytest.mark.parametrize("action", ["acknowledge", "classify"])
def test_it_lets_one_of_two_dispatchers_with_the_same_version_win(
    action: str,
    cast: dict[str, Any],
    departments: dict[str, Department],
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = make_ticket(department_code="a")
    second = _dispatcher("dispatcher_2", departments["district"])
    version, events = ticket.version, ticket.events.count()

    def act(actor: Any, urgency: str) -> Callable[[], Ticket]:
        if action == "acknowledge":
            return lambda: services.ticket_acknowledge(
                actor=actor, ticket_id=ticket.pk, expected_version=version
            )
        # classify changes no state: only the version stops a silent overwrite.
        return lambda: services.ticket_classify(
            actor=actor, ticket_id=ticket.pk, urgency=urgency, expected_version=version
        )

    outcomes = _race(ticket.pk, act(cast["dispatcher"], "urgent"), act(second, "normal"))

    wins, losses = _split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    loss = losses[0]
    assert isinstance(loss, ConflictError), repr(loss)
    assert loss.status == 409 and ticket.case_no in loss.message
    assert "已被他人修改" in loss.message

    ticket.refresh_from_db()
    assert ticket.version == version + 1
    assert ticket.events.count() == events + 1
    assert ticket.events.filter(kind=action).count() == 1
    won = wins[0][0]
    if action == "acknowledge":
        assert ticket.state == "acknowledged"
        assert "已受理" in loss.message
    else:
        assert ticket.state == "new"
        assert ticket.urgency == won.urgency
        assert "待受理" in loss.message


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_first_messages_from_one_new_sender_at_once_both_get_in() -> None:
    from tests.conftest import run_together
    from tickets.models import Citizen

    def first_message(text: str) -> Any:
        return lambda: services.intake_message(
            message=services.IncomingMessage(
                channel="wechat", sender_kind="wechat_openid", sender_id="o-twice", text=text
            )
        )

    results = run_together(
        first_message("第一条：路灯坏了很久了"), first_message("第二条：路灯坏了很久了")
    )
    assert {result.action for result in results} <= {"created", "follow_up"}
    assert Citizen.objects.count() == 1


@pytest.fixture
def own_transaction_numbers(settings: Any) -> Any:
    """The production path: numbers from a short transaction on a pool of their own."""
    from tickets.services.case_numbers import counter_pool_close

    settings.CASE_NUMBERS_OWN_TRANSACTION = True
    yield
    counter_pool_close()  # its connections must not keep the test database open


def test_numbers_from_their_own_transaction_are_unique_under_concurrent_intake(
    own_transaction_numbers: Any,
) -> None:
    threads, per_thread = 8, 25
    received_at = dt.datetime(2025, 3, 13, 9, 30, tzinfo=CHINA)

    results = run_in_threads(
        [
            intake_many(worker, count=per_thread, received_at=received_at, phone_prefix="138")
            for worker in range(threads)
        ]
    )

    assert [status for status, _ in results] == ["ok"] * threads, results
    numbers = [number for _, batch in results for number in batch]
    assert len(set(numbers)) == 200
    # Nothing rolled back here, so there is no gap either.
    assert sorted(int(number[8:]) for number in numbers) == list(range(1, 201))
    assert set(Ticket.objects.values_list("case_no", flat=True)) == set(numbers)


def test_a_number_is_taken_while_another_intake_is_still_open(
    own_transaction_numbers: Any,
) -> None:
    """The counter row is not held until the other intake commits: the second number comes
    at once, and the first intake's rollback leaves a gap, never a duplicate."""
    from tickets.services.case_numbers import case_number_next

    received_at = dt.datetime(2025, 3, 14, 10, 0, tzinfo=CHINA)
    first_taken, second_taken = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    class RolledBack(Exception):
        pass

    def slow_intake() -> None:
        try:
            with transaction.atomic():
                seen["first"] = case_number_next(received_at=received_at)
                first_taken.set()
                # Still inside the transaction while the other number is taken.
                seen["open_while_second"] = second_taken.wait(timeout=20)
                raise RolledBack()
        except RolledBack:
            pass
        finally:
            connections.close_all()

    holder = threading.Thread(target=slow_intake)
    holder.start()
    assert first_taken.wait(timeout=20)
    seen["second"] = case_number_next(received_at=received_at)
    second_taken.set()
    holder.join(timeout=30)

    assert seen["open_while_second"] is True  # the second came while the first was open
    assert seen["first"] == "20250314000001"
    assert seen["second"] == "20250314000002"
    assert case_number_next(received_at=received_at) == "20250314000003"  # 000001: a gap


def test_the_counter_pool_connects_with_djangos_own_parameters(settings: Any) -> None:
    from django.db import connection

    from tickets.services.case_numbers import _conninfo

    conninfo = _conninfo()
    assert f"dbname={connection.settings_dict['NAME']}" in conninfo
    # The session options of settings (DB_SESSION_OPTIONS, "-c jit=off" by default) are kept,
    # asynchronous commit is added to them.
    options = connection.settings_dict["OPTIONS"].get("options", "")
    assert f"{options} -c synchronous_commit=off".strip() in conninfo


def test_when_the_counter_pool_cannot_serve_the_intake_numbers_in_its_own_transaction(
    own_transaction_numbers: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from tickets.services import case_numbers

    # A counter connection that cannot be made (nothing listens on port 9).
    monkeypatch.setattr(
        case_numbers, "_conninfo", lambda: "host=127.0.0.1 port=9 dbname=x connect_timeout=1"
    )
    monkeypatch.setattr(case_numbers, "POOL_TIMEOUT_SECONDS", 1)
    received_at = dt.datetime(2025, 3, 15, 10, 0, tzinfo=CHINA)
    with transaction.atomic():
        first = case_numbers.case_number_next(received_at=received_at)
    assert first == "20250315000001"
    assert "own transaction unavailable" in caplog.text
