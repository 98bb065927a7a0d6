"""``manage.py load_demo``: a realistic district built through the real services, once.

Runs on whichever database the suite uses (SQLite by default, PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count
from django.test import RequestFactory
from django.utils import timezone

from tickets.demo import DEMO_USERS, DISTRICT_CODE, Loader, overdue_q
from tickets.models import (
    Category,
    Citizen,
    Department,
    Role,
    StaffProfile,
    State,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

ROLE_USERS = {
    "dispatcher": (Role.DISPATCHER, "青山区"),
    "handler": (Role.HANDLER, "区城管局"),
    "handler2": (Role.HANDLER, "区住建局"),
    "supervisor": (Role.SUPERVISOR, "区城管局"),
    "leadership": (Role.LEADERSHIP, "青山区"),
    "admin": (Role.ADMIN, "青山区"),
}


def _login(username: str, password: str) -> Any:
    # The login lock-out backend (axes) needs the request a login comes with.
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="127.0.0.1")
    return authenticate(request, username=username, password=password)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def _snapshot() -> dict[str, object]:
    return {
        "departments": Department.objects.count(),
        "categories": Category.objects.count(),
        "profiles": StaffProfile.objects.count(),
        "citizens": Citizen.objects.count(),
        "tickets": Ticket.objects.count(),
        "events": TicketEvent.objects.count(),
        "states": dict(Ticket.objects.values_list("state").annotate(n=Count("id")).order_by()),
        "versions": sum(Ticket.objects.values_list("version", flat=True)),
    }


def test_it_builds_a_district_through_the_services_and_only_once() -> None:
    output = _run()
    assert "已生成 300/300 件工单" in output and "演示数据加载完成" in output

    assert Department.objects.get(code=DISTRICT_CODE).name == "青山区"
    assert Department.objects.filter(level="bureau").count() >= 10
    assert Category.objects.count() >= 35
    assert not Category.objects.filter(default_department__isnull=True).exists()

    tickets = Ticket.objects.all()
    assert 280 <= tickets.count() <= 320
    states = set(tickets.values_list("state", flat=True))
    assert states == set(State.values)
    assert set(tickets.values_list("channel", flat=True)) >= {
        "website",
        "wechat",
        "weibo",
        "hotline",
    }

    # Every ticket came in through intake: its timeline starts with one "created" event.
    assert not tickets.exclude(events__kind="created").exists()
    created = TicketEvent.objects.filter(kind="created")
    assert created.count() == tickets.count()

    # Spread over about 45 days, with cases past their deadlines.
    now = timezone.now()
    oldest = tickets.order_by("received_at").first()
    assert oldest is not None and (now - oldest.received_at).days >= 30
    assert not TicketEvent.objects.filter(created_at__gt=now).exists()
    assert tickets.filter(state=State.NEW, ack_due_at__lt=now).exists()
    assert tickets.filter(
        state__in=[State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS],
        resolve_due_at__lt=now,
    ).exists()
    assert tickets.filter(overdue_q(now)).count() >= 10
    assert tickets.filter(ack_on_time=False).exists() and tickets.filter(ack_on_time=True).exists()
    assert (
        tickets.filter(duplicate_of__isnull=False).count()
        == tickets.filter(state=State.MERGED).count()
    )

    # A second run changes nothing.
    before = _snapshot()
    again = _run()
    assert "未做修改" in again
    assert _snapshot() == before


def test_it_prints_logins_that_work() -> None:
    assert "尚未加载演示数据" in _run("--print-logins")
    # The people without the 300 tickets (the full run is the test above).
    loader = Loader(now=timezone.now(), progress=lambda line: None)
    loader.organisation()
    loader.people()
    before = _snapshot()
    table = _run("--print-logins")
    assert _snapshot() == before

    printed = {}
    for line in table.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 4 and cells[0] in {spec.username for spec in DEMO_USERS}:
            printed[cells[0]] = cells[1]
    assert set(printed) == {spec.username for spec in DEMO_USERS}

    for username, (role, department) in ROLE_USERS.items():
        user = _login(username, printed[username])
        assert user is not None, username
        profile = user.staff_profile
        assert profile.role == role and profile.department.name == department
        assert user.is_staff == (username == "admin")
    admin = _login("admin", printed["admin"])
    assert admin is not None and admin.is_superuser
    assert _login("handler", "wrong") is None


def test_the_demo_history_sends_nothing_to_anyone(db: Any) -> None:
    from django.core.management import call_command

    from integrations.models import OutboxMessage

    call_command("load_demo")
    assert OutboxMessage.objects.exists()
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()


def test_the_demo_has_feedback_for_satisfaction_figures(db: Any) -> None:
    from django.core.management import call_command

    from tickets.models import Feedback

    call_command("load_demo")
    closed = Ticket.objects.filter(state="closed").count()
    assert (
        Feedback.objects.filter(satisfaction__in=["satisfied", "basically_satisfied"]).count()
        >= closed
    )
    assert Feedback.objects.filter(satisfaction="unsatisfied").exists()
