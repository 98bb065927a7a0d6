"""The process's snapshot of the SLA policies and the working calendar (issue 8): read once,
then reused while the version in the shared cache names it; a policy edit or a calendar import
applies to the very next intake, here and in every other process.

The snapshot is forced on (``REFERENCE_SNAPSHOT``) so that these run on the embedded default's
process-local cache too, and each test keeps its version under a key of its own."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from sla import clock
from sla import services as sla
from sla.calendar_import import CalendarEntry
from sla.models import SlaPolicy
from tickets import services
from tickets.models import CitizenIdentity, Ticket

CHINA = clock.CHINA


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=CHINA)


def eod(year: int, month: int, day: int) -> dt.datetime:
    return at(year, month, day, 23, 59, 59)


@pytest.fixture
def snapshot(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sla, "REFERENCE_SNAPSHOT", True)
    monkeypatch.setattr(sla, "REFERENCE_VERSION_KEY", f"sla:reference-version:{uuid.uuid4().hex}")
    monkeypatch.setattr(sla, "_snapshot", None)
    yield
    cache.delete(sla.REFERENCE_VERSION_KEY)


class Counter:
    n = 0


def complaint(received_at: dt.datetime) -> Ticket:
    Counter.n += 1
    result = services.intake_message(
        message=services.IncomingMessage(
            channel="website",
            sender_kind=CitizenIdentity.Kind.PHONE,
            sender_id=f"1370000{Counter.n:04d}",
            text="小区门口的路灯坏了一个星期。",
            request_type="complaint",
            may_follow_up=False,
            received_at=received_at,
        )
    )
    assert result.ticket is not None
    return result.ticket


def complaint_policy() -> SlaPolicy:
    return SlaPolicy.objects.get(
        kind="resolution", request_type="complaint", urgency="", category=None
    )


@pytest.mark.django_db(transaction=True)
def test_a_policy_edit_applies_to_the_next_intake(snapshot: None) -> None:
    received = at(2026, 11, 16, 10, 0)
    assert complaint(received).resolve_due_at == eod(2026, 12, 7)  # 15 working days
    policy = complaint_policy()
    policy.amount = 3  # as the admin saves it
    policy.save()
    assert complaint(received).resolve_due_at == eod(2026, 11, 19)


@pytest.mark.django_db(transaction=True)
def test_a_calendar_import_applies_to_the_next_intake(snapshot: None) -> None:
    received = at(2026, 12, 20, 11, 0)
    with time_machine.travel(received, tick=False):
        before = complaint(received)
        sla.calendar_replace_years(
            entries=[CalendarEntry(date=dt.date(2027, 1, 1), is_workday=False, name="元旦")],
            source="import:2027.csv",
        )
        after = complaint(received)
    assert before.calendar_confirmed is False
    assert (after.calendar_confirmed, after.resolve_due_at) == (True, eod(2027, 1, 11))


@pytest.mark.django_db(transaction=True)
def test_it_reads_the_tables_once_and_another_processs_change_with_the_next_read(
    snapshot: None,
) -> None:
    def consult() -> clock.Policy:
        return sla.policy_select(request_type="consult", urgency="normal", category_id=None)

    assert consult().amount == 2
    with CaptureQueriesContext(connection) as queries:
        assert consult().amount == 2
        assert (
            sla.calendar_load(start=dt.date(2026, 9, 30)).is_workday(dt.date(2026, 10, 1)) is False
        )
    assert queries.captured_queries == []
    # Another process edits the policy: its commit reaches us only as a new version.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_slapolicy SET amount = 4 WHERE request_type = 'consult' AND urgency = ''"
        )
    assert consult().amount == 2
    cache.set(sla.REFERENCE_VERSION_KEY, "another process committed", timeout=None)
    assert consult().amount == 4


@pytest.mark.django_db(transaction=True)
def test_an_uncommitted_change_is_seen_only_by_its_transaction(snapshot: None) -> None:
    def complaint_days() -> int:
        return sla.policy_select(
            request_type="complaint", urgency="normal", category_id=None
        ).amount

    assert complaint_days() == 15
    version = cache.get(sla.REFERENCE_VERSION_KEY)

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        with transaction.atomic():
            policy = complaint_policy()
            policy.amount = 5
            policy.save()
            assert complaint_days() == 5
            raise Undo()
    assert complaint_days() == 15
    assert cache.get(sla.REFERENCE_VERSION_KEY) == version  # nothing to tell the others

    with transaction.atomic():
        policy = complaint_policy()
        policy.amount = 6
        policy.save()
        assert cache.get(sla.REFERENCE_VERSION_KEY) == version  # not before the commit
    assert cache.get(sla.REFERENCE_VERSION_KEY) != version
    assert complaint_days() == 6


@pytest.mark.django_db
def test_a_change_inside_a_test_transaction_is_not_kept_for_later(snapshot: None) -> None:
    # The change is read inside its transaction but never stored in the snapshot, which keeps
    # describing what is committed.
    assert sla.policy_select(request_type="consult", urgency="", category_id=None).amount == 2
    SlaPolicy.objects.filter(request_type="consult").delete()
    assert sla.policy_select(request_type="consult", urgency="", category_id=None).amount == 10
    assert sla._snapshot is not None
    assert any(row.request_type == "consult" for row in sla._snapshot.policies)


@pytest.mark.django_db
def test_without_the_cache_it_reads_the_database(snapshot: None) -> None:
    unreachable = {
        "default": {
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
        }
    }
    with override_settings(CACHES=unreachable):
        assert sla.policy_select(request_type="consult", urgency="", category_id=None).amount == 2
        policy = SlaPolicy.objects.get(request_type="consult", urgency="", kind="resolution")
        SlaPolicy.objects.filter(pk=policy.pk).update(amount=7)  # no signal, no cache: still seen
        assert sla.policy_select(request_type="consult", urgency="", category_id=None).amount == 7
    assert sla._snapshot is None
