"""The fixed cast: one district with two bureaus (A and B, each with a section), a dispatcher,
a handler and a supervisor in each bureau, leadership and an administrator."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.browser import browser, live_asgi  # noqa: F401 - fixtures for every browser test
from tickets import services
from tickets.models import Category, CitizenIdentity, Department, Role, StaffProfile, Ticket

CHINA = dt.timezone(dt.timedelta(hours=8))


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def ensure_reference_data() -> None:
    """The working calendar and default SLA policies are seeded by data migrations; a
    transactional test's flush empties them for every later test, so put them back."""
    import importlib

    from django.apps import apps

    from sla.calendar_seed import seed
    from sla.models import CalendarYear, SlaPolicy, WorkingDay

    if not CalendarYear.objects.exists():
        seed(WorkingDay, CalendarYear)
    if not SlaPolicy.objects.exists():
        importlib.import_module("sla.migrations.0003_seed_default_policies").seed(apps, None)


@pytest.fixture
def _django_db_helper(_django_db_helper: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        ensure_reference_data()


def run_together(*targets: Callable[[], Any]) -> list[Any]:
    """Start every target in its own thread (own database connection) at the same moment;
    return their results in order, raising the first error any of them hit."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def run(index: int, target: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (as .ci/run does)",
)


@pytest.fixture
def departments(db: Any) -> dict[str, Department]:
    district = Department.objects.create(code="qingshan", name="青山区", level="district")
    a = Department.objects.create(code="a", name="城管局", level="bureau", parent=district)
    b = Department.objects.create(code="b", name="住建局", level="bureau", parent=district)
    a1 = Department.objects.create(code="a1", name="市容科", level="section", parent=a)
    b1 = Department.objects.create(code="b1", name="物业科", level="section", parent=b)
    return {"district": district, "a": a, "b": b, "a1": a1, "b1": b1}


@pytest.fixture
def categories(departments: dict[str, Department]) -> dict[str, Category]:
    lights = Category.objects.create(
        code="lights", name="路灯", default_department=departments["a"]
    )
    housing = Category.objects.create(
        code="housing", name="物业", default_department=departments["b"]
    )
    return {"lights": lights, "housing": housing}


def _user(username: str, role: str | None, department: Department | None, **extra: Any) -> Any:
    user = get_user_model().objects.create_user(
        username=username, password="pw-" + username, first_name=username, **extra
    )
    if role is not None:
        StaffProfile.objects.create(user=user, role=role, department=department)
    return user


@pytest.fixture
def cast(departments: dict[str, Department]) -> dict[str, Any]:
    return {
        "dispatcher": _user("dispatcher", Role.DISPATCHER, departments["district"]),
        "handler_a": _user("handler_a", Role.HANDLER, departments["a"]),
        "handler_a1": _user("handler_a1", Role.HANDLER, departments["a1"]),
        "handler_b": _user("handler_b", Role.HANDLER, departments["b"]),
        "supervisor_a": _user("supervisor_a", Role.SUPERVISOR, departments["a"]),
        "supervisor_b": _user("supervisor_b", Role.SUPERVISOR, departments["b"]),
        "leadership": _user("leadership", Role.LEADERSHIP, departments["district"]),
        "admin": _user("admin", None, None, is_superuser=True, is_staff=True),
        "outsider": _user("outsider", None, None),
    }


@pytest.fixture
def make_ticket(db: Any) -> Callable[..., Ticket]:
    """Open a ticket through the real intake path (a website message from a new citizen)."""
    counter = {"n": 0}

    def make(
        text: str = "建设路路灯坏了一个多星期，晚上很黑，请尽快维修。", **fields: Any
    ) -> Ticket:
        counter["n"] += 1
        message = services.IncomingMessage(
            channel=fields.pop("channel", "website"),
            sender_kind=fields.pop("sender_kind", CitizenIdentity.Kind.PHONE),
            sender_id=fields.pop("sender_id", f"1380000{counter['n']:04d}"),
            text=text,
            may_follow_up=fields.pop("may_follow_up", False),
            **fields,
        )
        result = services.intake_message(message=message)
        assert result.ticket is not None, result
        return result.ticket

    return make


def walk(
    ticket: Ticket, cast: dict[str, Any], departments: dict[str, Department], to: str
) -> Ticket:
    """Move a fresh ticket along the happy path until it reaches state ``to``."""
    steps: list[tuple[str, Callable[[], Ticket]]] = [
        (
            "acknowledged",
            lambda: services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk),
        ),
        (
            "assigned",
            lambda: services.ticket_assign(
                actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["a"].pk
            ),
        ),
        (
            "in_progress",
            lambda: services.ticket_accept(actor=cast["handler_a"], ticket_id=ticket.pk),
        ),
        (
            "waiting_citizen",
            lambda: services.ticket_request_info(
                actor=cast["handler_a"], ticket_id=ticket.pk, question="请提供具体位置"
            ),
        ),
    ]
    if to in ("replied", "closed"):
        steps = steps[:3] + [
            (
                "replied",
                lambda: services.ticket_reply(
                    actor=cast["handler_a"], ticket_id=ticket.pk, content="已安排维修，路灯已恢复。"
                ),
            ),
            (
                "closed",
                lambda: services.ticket_close(actor=cast["dispatcher"], ticket_id=ticket.pk),
            ),
        ]
    current = ticket
    for state, step in steps:
        if current.state == to:
            break
        current = step()
        if state == to:
            break
    current.refresh_from_db()
    assert current.state == to, (current.state, to)
    return current


@pytest.fixture(autouse=True)
def _shared_servers_reachable() -> Any:
    """A test that points the cache or the channel layer at a server that is away opens the
    process's circuit for it; the next test starts with every circuit closed again."""
    from config.cache import redis_circuit
    from tickets import live

    yield
    redis_circuit.reset()
    live._layer_down_until[0] = 0.0
