"""The SLA configuration in the database: the seeded calendar and policies, policy precedence,
deadlines end to end, and the deadlines intake stamps on a ticket."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from sla import clock
from sla import services as sla
from sla.models import CalendarYear, SlaPolicy, WorkingDay
from tickets.models import Category

CHINA = clock.CHINA


def at(*args: int, tz: dt.tzinfo = CHINA) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def eod(year: int, month: int, day: int) -> dt.datetime:
    return at(year, month, day, 23, 59, 59)


# --- what the migrations seeded ---------------------------------------------------------------


def test_the_migration_seeded_every_year_chinesecalendar_knows(db: Any) -> None:
    years = list(CalendarYear.objects.values_list("year", flat=True))
    assert years == list(range(2004, 2027))
    assert set(CalendarYear.objects.values_list("source", flat=True)) == {"chinesecalendar"}


def test_the_seeded_calendar_has_the_holidays_and_make_up_days(db: Any) -> None:
    make_up = WorkingDay.objects.get(date=dt.date(2026, 10, 10))
    assert make_up.is_workday is True
    assert make_up.source == "chinesecalendar"
    assert WorkingDay.objects.get(date=dt.date(2026, 10, 1)).is_workday is False
    assert WorkingDay.objects.get(date=dt.date(2026, 2, 14)).is_workday is True
    # An ordinary weekday and an ordinary weekend are not stored: the plain rule covers them.
    assert not WorkingDay.objects.filter(date=dt.date(2026, 11, 23)).exists()
    assert not WorkingDay.objects.filter(date=dt.date(2026, 11, 22)).exists()


def test_the_loaded_calendar_matches_the_seed(db: Any) -> None:
    calendar = sla.calendar_load(start=dt.date(2026, 1, 1))
    assert calendar.is_workday(dt.date(2026, 10, 10)) is True
    assert calendar.is_workday(dt.date(2026, 10, 1)) is False
    assert calendar.covers(dt.date(2026, 12, 31)) and not calendar.covers(dt.date(2027, 1, 1))


def test_the_seven_default_policies_exist(db: Any) -> None:
    rows = {
        (p.kind, p.request_type, p.urgency, p.unit, p.amount, p.counting)
        for p in SlaPolicy.objects.filter(
            category=None, active=True, kind__in=["resolution", "redo"]
        )
    }
    assert rows == {
        ("resolution", "consult", "", "working_days", 2, "next_day"),
        ("resolution", "help", "", "working_days", 10, "next_day"),
        ("resolution", "suggest", "", "working_days", 10, "next_day"),
        ("resolution", "complaint", "", "working_days", 15, "next_day"),
        ("resolution", "report", "", "working_days", 15, "next_day"),
        ("resolution", "", "urgent", "hours", 24, "next_day"),
        ("redo", "", "", "working_days", 5, "next_day"),
    }
    assert SlaPolicy.objects.filter(kind__in=["resolution", "redo"]).count() == 7


# --- policy precedence ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_type", "amount"),
    [("consult", 2), ("help", 10), ("suggest", 10), ("complaint", 15), ("report", 15)],
)
def test_it_selects_the_policy_of_the_request_type(db: Any, request_type: str, amount: int) -> None:
    policy = sla.policy_select(request_type=request_type, urgency="normal", category_id=None)
    assert policy == clock.Policy(unit=clock.WORKING_DAYS, amount=amount, counting=clock.NEXT_DAY)


def test_urgent_beats_the_request_type(db: Any) -> None:
    policy = sla.policy_select(request_type="complaint", urgency="urgent", category_id=None)
    assert policy == clock.Policy(unit=clock.HOURS, amount=24, counting=clock.NEXT_DAY)


def test_a_category_policy_wins_over_the_request_types(
    categories: dict[str, Category],
) -> None:
    SlaPolicy.objects.create(
        name="路灯：3个工作日", category=categories["lights"], unit="working_days", amount=3
    )
    lights = sla.policy_select(
        request_type="complaint", urgency="normal", category_id=categories["lights"].pk
    )
    assert lights.amount == 3
    # Another category, and no category at all, still get the request type's limit.
    housing = sla.policy_select(
        request_type="complaint", urgency="normal", category_id=categories["housing"].pk
    )
    assert housing.amount == 15
    assert (
        sla.policy_select(request_type="complaint", urgency="normal", category_id=None).amount == 15
    )


def test_urgent_beats_a_category_policy(categories: dict[str, Category]) -> None:
    SlaPolicy.objects.create(
        name="路灯：3个工作日", category=categories["lights"], unit="working_days", amount=3
    )
    policy = sla.policy_select(
        request_type="complaint", urgency="urgent", category_id=categories["lights"].pk
    )
    assert policy == clock.Policy(unit=clock.HOURS, amount=24, counting=clock.NEXT_DAY)


def test_a_category_and_type_policy_beats_a_category_only_policy(
    categories: dict[str, Category],
) -> None:
    lights = categories["lights"]
    SlaPolicy.objects.create(name="路灯", category=lights, unit="working_days", amount=3)
    SlaPolicy.objects.create(
        name="路灯咨询", category=lights, request_type="consult", unit="working_days", amount=1
    )
    assert (
        sla.policy_select(request_type="consult", urgency="normal", category_id=lights.pk).amount
        == 1
    )
    assert (
        sla.policy_select(request_type="complaint", urgency="normal", category_id=lights.pk).amount
        == 3
    )


def test_an_inactive_policy_is_ignored(categories: dict[str, Category]) -> None:
    SlaPolicy.objects.create(
        name="停用", category=categories["lights"], unit="working_days", amount=3, active=False
    )
    policy = sla.policy_select(
        request_type="complaint", urgency="normal", category_id=categories["lights"].pk
    )
    assert policy.amount == 15


def test_the_redo_policy_is_five_working_days(db: Any) -> None:
    policy = sla.policy_select(request_type="", urgency="", category_id=None, kind="redo")
    assert policy == clock.Policy(unit=clock.WORKING_DAYS, amount=5, counting=clock.NEXT_DAY)


def test_a_same_day_policy_counts_the_receipt_date(categories: dict[str, Category]) -> None:
    SlaPolicy.objects.create(
        name="当日起算",
        category=categories["lights"],
        request_type="consult",
        unit="working_days",
        amount=2,
        counting="same_day",
    )
    deadlines = sla.deadlines_compute(
        received_at=at(2026, 2, 14, 10, 0),
        request_type="consult",
        urgency="normal",
        category_id=categories["lights"].pk,
    )
    assert deadlines.resolve_due_at == eod(2026, 2, 24)


# --- deadlines end to end ---------------------------------------------------------------------

WORKED_EXAMPLES = [
    (at(2026, 9, 30, 16, 0), "consult", "normal", at(2026, 9, 30, 16, 30), eod(2026, 10, 9), True),
    (
        at(2026, 9, 30, 16, 0),
        "complaint",
        "normal",
        at(2026, 9, 30, 16, 30),
        eod(2026, 10, 27),
        True,
    ),
    (at(2026, 2, 14, 10, 0), "consult", "normal", at(2026, 2, 14, 10, 30), eod(2026, 2, 25), True),
    (
        at(2026, 11, 22, 23, 50),
        "consult",
        "normal",
        at(2026, 11, 23, 0, 20),
        eod(2026, 11, 24),
        True,
    ),
    (
        at(2026, 3, 31, 17, 30, tz=dt.UTC),
        "consult",
        "normal",
        at(2026, 4, 1, 2, 0),
        eod(2026, 4, 3),
        True,
    ),
    (
        at(2026, 5, 1, 8, 0),
        "suggest",
        "urgent",
        at(2026, 5, 1, 8, 30),
        at(2026, 5, 2, 8, 0),
        True,
    ),
    (
        at(2026, 12, 20, 11, 0),
        "complaint",
        "normal",
        at(2026, 12, 20, 11, 30),
        eod(2027, 1, 11),  # specs/sla.md: 01-08 by the plain rule; 元旦 01-01 is always a holiday
        False,
    ),
]


@pytest.mark.parametrize(
    ("received_at", "request_type", "urgency", "ack_due", "resolve_due", "confirmed"),
    WORKED_EXAMPLES,
)
def test_it_computes_the_worked_examples_from_the_database(
    db: Any,
    received_at: dt.datetime,
    request_type: str,
    urgency: str,
    ack_due: dt.datetime,
    resolve_due: dt.datetime,
    confirmed: bool,
) -> None:
    deadlines = sla.deadlines_compute(
        received_at=received_at, request_type=request_type, urgency=urgency, category_id=None
    )
    assert deadlines.ack_due_at == ack_due
    assert deadlines.resolve_due_at == resolve_due
    assert deadlines.calendar_confirmed is confirmed
    assert deadlines.resolve_unit == ("hours" if urgency == "urgent" else "working_days")


def test_the_pause_and_extension_examples_from_the_database(db: Any) -> None:
    moved, lost = sla.pause_apply(
        deadline=eod(2026, 10, 27),
        paused_at=at(2026, 10, 9, 10, 0),
        resumed_at=at(2026, 10, 13, 15),
    )
    assert (moved.at, moved.confirmed, lost) == (eod(2026, 10, 30), True, 3)
    extended = sla.deadline_shift(deadline=moved.at, days=5)
    assert extended == clock.Deadline(eod(2026, 11, 6), True)


def test_the_redo_deadline_is_five_working_days_from_the_reopen(db: Any) -> None:
    # Reopened Friday 2026-09-25 (Mid-autumn holiday): 09-28 .. 09-30, 10-08, 10-09.
    assert sla.redo_deadline(reopened_at=at(2026, 9, 25, 10, 0), category_id=None) == (
        clock.Deadline(eod(2026, 10, 9), True)
    )


def test_editing_the_calendar_in_the_database_changes_the_deadline(db: Any) -> None:
    received = at(2026, 11, 20, 10, 0)  # a Friday
    before = sla.deadlines_compute(
        received_at=received, request_type="consult", urgency="normal", category_id=None
    )
    assert before.resolve_due_at == eod(2026, 11, 24)
    # An administrator declares Monday 11-23 a holiday ...
    WorkingDay.objects.create(date=dt.date(2026, 11, 23), is_workday=False, name="临时放假")
    after = sla.deadlines_compute(
        received_at=received, request_type="consult", urgency="normal", category_id=None
    )
    assert after.resolve_due_at == eod(2026, 11, 25)
    # ... and then Saturday 11-21 a make-up working day.
    WorkingDay.objects.create(date=dt.date(2026, 11, 21), is_workday=True, name="调休上班")
    again = sla.deadlines_compute(
        received_at=received, request_type="consult", urgency="normal", category_id=None
    )
    assert again.resolve_due_at == eod(2026, 11, 24)


def test_an_admin_edited_holiday_turned_working_day_shortens_the_deadline(db: Any) -> None:
    # As the admin saves it (a model save: the SLA reference snapshot learns of it).
    day = WorkingDay.objects.get(date=dt.date(2026, 10, 1))
    day.is_workday = True
    day.save()
    deadlines = sla.deadlines_compute(
        received_at=at(2026, 9, 30, 16, 0),
        request_type="consult",
        urgency="normal",
        category_id=None,
    )
    assert deadlines.resolve_due_at == eod(2026, 10, 8)


def test_adding_a_covered_year_confirms_its_deadlines(db: Any) -> None:
    CalendarYear.objects.create(year=2027, source="manual")
    WorkingDay.objects.create(date=dt.date(2027, 1, 1), is_workday=False, name="元旦")
    deadlines = sla.deadlines_compute(
        received_at=at(2026, 12, 20, 11, 0),
        request_type="complaint",
        urgency="normal",
        category_id=None,
    )
    assert deadlines.calendar_confirmed is True
    assert deadlines.resolve_due_at == eod(2027, 1, 11)


def test_it_reports_the_uncovered_years_within_the_horizon(db: Any) -> None:
    assert sla.calendar_uncovered_days(today=dt.date(2026, 11, 22), horizon_days=90) == [
        dt.date(2027, 1, 1)
    ]
    assert sla.calendar_uncovered_days(today=dt.date(2026, 6, 1), horizon_days=90) == []


# --- intake stamps the deadlines --------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_at", "request_type", "urgency", "ack_due", "resolve_due", "confirmed"),
    WORKED_EXAMPLES,
)
def test_intake_stamps_the_deadlines_on_the_ticket(
    make_ticket: Any,
    received_at: dt.datetime,
    request_type: str,
    urgency: str,
    ack_due: dt.datetime,
    resolve_due: dt.datetime,
    confirmed: bool,
) -> None:
    with time_machine.travel(received_at, tick=False):
        ticket = make_ticket(request_type=request_type, urgency=urgency)
    ticket.refresh_from_db()
    assert ticket.received_at == received_at
    assert ticket.ack_due_at == ack_due
    assert ticket.resolve_due_at == resolve_due
    assert ticket.calendar_confirmed is confirmed
    assert ticket.resolve_unit == ("hours" if urgency == "urgent" else "working_days")


def test_a_complaint_of_2026_12_20_is_due_in_2027_unconfirmed(make_ticket: Any) -> None:
    with time_machine.travel(at(2026, 12, 20, 11, 0), tick=False):
        ticket = make_ticket(request_type="complaint")
    ticket.refresh_from_db()
    assert ticket.resolve_due_at == eod(2027, 1, 11)
    assert ticket.calendar_confirmed is False
    created = ticket.events.get(kind="created")
    assert created.payload["calendar_confirmed"] is False


def test_intake_uses_a_category_policy(make_ticket: Any, categories: dict[str, Category]) -> None:
    SlaPolicy.objects.create(
        name="路灯：3个工作日", category=categories["lights"], unit="working_days", amount=3
    )
    with time_machine.travel(at(2026, 9, 30, 16, 0), tick=False):
        ticket = make_ticket(request_type="complaint", category_code="lights")
    ticket.refresh_from_db()
    # 10-08, 10-09, 10-10 (make-up Saturday).
    assert ticket.resolve_due_at == eod(2026, 10, 10)


def test_intake_follows_the_calendar_as_edited_in_the_database(make_ticket: Any) -> None:
    WorkingDay.objects.create(date=dt.date(2026, 11, 23), is_workday=False, name="临时放假")
    with time_machine.travel(at(2026, 11, 20, 10, 0), tick=False):
        ticket = make_ticket(request_type="consult")
    ticket.refresh_from_db()
    assert ticket.resolve_due_at == eod(2026, 11, 25)
