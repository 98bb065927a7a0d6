"""The pure due-date arithmetic of ``sla.clock`` against ``specs/sla.md`` (no database).

The calendar is the one the migration seeds: every exception chinesecalendar knows for
2004-2026, with those years marked as covered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from sla import clock
from sla.calendar_seed import exceptions_for_year

CHINA = clock.CHINA
UTC = dt.UTC
COVERED_YEARS = range(2004, 2027)

CALENDAR = clock.calendar_from_rows(
    [(day, work) for year in COVERED_YEARS for day, work, _name in exceptions_for_year(year)],
    COVERED_YEARS,
)

CONSULT = clock.Policy(unit=clock.WORKING_DAYS, amount=2, counting=clock.NEXT_DAY)
CONSULT_SAME_DAY = clock.Policy(unit=clock.WORKING_DAYS, amount=2, counting=clock.SAME_DAY)
SUGGEST = clock.Policy(unit=clock.WORKING_DAYS, amount=10, counting=clock.NEXT_DAY)
COMPLAINT = clock.Policy(unit=clock.WORKING_DAYS, amount=15, counting=clock.NEXT_DAY)
URGENT = clock.Policy(unit=clock.HOURS, amount=24, counting=clock.NEXT_DAY)


def at(*args: int, tz: dt.tzinfo = CHINA) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def eod(year: int, month: int, day: int) -> dt.datetime:
    return at(year, month, day, 23, 59, 59)


# Every worked example of specs/sla.md: received_at, policy, ack due, resolution due, confirmed.
WORKED_EXAMPLES = [
    pytest.param(
        at(2026, 9, 30, 16, 0),
        CONSULT,
        at(2026, 9, 30, 16, 30),
        eod(2026, 10, 9),
        True,
        id="consult-before-national-day",
    ),
    pytest.param(
        at(2026, 9, 30, 16, 0),
        COMPLAINT,
        at(2026, 9, 30, 16, 30),
        eod(2026, 10, 27),
        True,
        id="complaint-before-national-day",
    ),
    pytest.param(
        at(2026, 2, 14, 10, 0),
        CONSULT,
        at(2026, 2, 14, 10, 30),
        eod(2026, 2, 25),
        True,
        id="consult-on-make-up-saturday-next-day",
    ),
    pytest.param(
        at(2026, 2, 14, 10, 0),
        CONSULT_SAME_DAY,
        at(2026, 2, 14, 10, 30),
        eod(2026, 2, 24),
        True,
        id="consult-on-make-up-saturday-same-day",
    ),
    pytest.param(
        at(2026, 11, 22, 23, 50),
        CONSULT,
        at(2026, 11, 23, 0, 20),
        eod(2026, 11, 24),
        True,
        id="consult-ten-minutes-before-midnight",
    ),
    pytest.param(
        at(2026, 3, 31, 17, 30, tz=UTC),
        CONSULT,
        at(2026, 4, 1, 2, 0),
        eod(2026, 4, 3),
        True,
        id="consult-received-in-utc",
    ),
    pytest.param(
        at(2026, 5, 1, 8, 0),
        URGENT,
        at(2026, 5, 1, 8, 30),
        at(2026, 5, 2, 8, 0),
        True,
        id="urgent-suggestion-on-labour-day",
    ),
    pytest.param(
        at(2026, 12, 20, 11, 0),
        COMPLAINT,
        at(2026, 12, 20, 11, 30),
        # specs/sla.md gives 2027-01-08 (the plain rule); 元旦 is a holiday in every year, so
        # 2027-01-01 (a Friday) is not counted and the 15th working day is 01-11.
        eod(2027, 1, 11),
        False,
        id="complaint-into-uncovered-2027",
    ),
]


@pytest.mark.parametrize(
    ("received_at", "policy", "ack_due", "resolve_due", "confirmed"), WORKED_EXAMPLES
)
def test_it_computes_every_worked_example_of_the_spec(
    received_at: dt.datetime,
    policy: clock.Policy,
    ack_due: dt.datetime,
    resolve_due: dt.datetime,
    confirmed: bool,
) -> None:
    assert clock.ack_due(received_at) == ack_due
    deadline = clock.resolve_due(received_at, policy, CALENDAR)
    assert deadline.at == resolve_due
    assert deadline.confirmed is confirmed


@pytest.mark.parametrize(
    ("received_at", "policy", "ack_due", "resolve_due", "confirmed"), WORKED_EXAMPLES
)
def test_it_returns_due_times_in_asia_shanghai(
    received_at: dt.datetime,
    policy: clock.Policy,
    ack_due: dt.datetime,
    resolve_due: dt.datetime,
    confirmed: bool,
) -> None:
    deadline = clock.resolve_due(received_at, policy, CALENDAR)
    assert deadline.at.utcoffset() == dt.timedelta(hours=8)
    assert clock.ack_due(received_at).utcoffset() == dt.timedelta(hours=8)


def test_the_calendar_knows_the_2026_holidays_and_make_up_days() -> None:
    assert CALENDAR.is_workday(dt.date(2026, 10, 10)) is True  # make-up Saturday
    assert CALENDAR.is_workday(dt.date(2026, 10, 1)) is False  # National Day, a Thursday
    assert CALENDAR.is_workday(dt.date(2026, 2, 14)) is True
    assert CALENDAR.is_workday(dt.date(2026, 2, 28)) is True
    assert not any(CALENDAR.is_workday(dt.date(2026, 2, day)) for day in range(15, 24))
    assert CALENDAR.covers(dt.date(2004, 1, 1)) and CALENDAR.covers(dt.date(2026, 12, 31))
    assert not CALENDAR.covers(dt.date(2027, 1, 1))


def test_it_counts_a_make_up_saturday_as_a_working_day() -> None:
    # Friday 02-13: day 1 is the make-up Saturday 02-14, day 2 the first day after the holiday.
    deadline = clock.resolve_due(at(2026, 2, 13, 9, 0), CONSULT, CALENDAR)
    assert deadline == clock.Deadline(eod(2026, 2, 24), True)


def test_it_counts_a_make_up_saturday_as_day_one_when_counting_the_same_day() -> None:
    deadline = clock.resolve_due(
        at(2026, 10, 10, 9, 0),
        clock.Policy(unit=clock.WORKING_DAYS, amount=1, counting=clock.SAME_DAY),
        CALENDAR,
    )
    assert deadline == clock.Deadline(eod(2026, 10, 10), True)


def test_it_starts_counting_the_next_working_day_on_a_rest_day_with_same_day_counting() -> None:
    # Sunday 2026-11-22 is not a working day, so it cannot be day 1.
    deadline = clock.resolve_due(at(2026, 11, 22, 9, 0), CONSULT_SAME_DAY, CALENDAR)
    assert deadline == clock.Deadline(eod(2026, 11, 24), True)


def test_it_skips_a_weekday_holiday() -> None:
    # Thursday 2026-09-24, one working day: Friday 09-25 is Mid-autumn, so Monday 09-28.
    one_day = clock.Policy(unit=clock.WORKING_DAYS, amount=1)
    assert clock.resolve_due(at(2026, 9, 24, 9, 0), one_day, CALENDAR).at == eod(2026, 9, 28)


def test_it_puts_the_deadline_at_23_59_59_of_the_last_day() -> None:
    deadline = clock.resolve_due(at(2026, 6, 1, 0, 0, 1), CONSULT, CALENDAR)
    assert deadline.at.astimezone(CHINA).time() == dt.time(23, 59, 59)


def test_it_uses_the_shanghai_date_of_a_utc_receipt() -> None:
    # 2026-03-31 17:30 UTC is already Wednesday 04-01 in Shanghai: day 1 is 04-02.
    received = at(2026, 3, 31, 17, 30, tz=UTC)
    assert clock.local_date(received) == dt.date(2026, 4, 1)
    one_day = clock.Policy(unit=clock.WORKING_DAYS, amount=1)
    assert clock.resolve_due(received, one_day, CALENDAR).at == eod(2026, 4, 2)


def test_a_utc_receipt_gives_the_same_deadline_as_the_same_moment_in_shanghai() -> None:
    utc = at(2026, 3, 31, 17, 30, tz=UTC)
    local = at(2026, 4, 1, 1, 30)
    assert utc == local
    assert clock.resolve_due(utc, COMPLAINT, CALENDAR) == clock.resolve_due(
        local, COMPLAINT, CALENDAR
    )


# --- hour limits ------------------------------------------------------------------------------


def test_an_hour_limit_is_wall_clock_across_a_holiday() -> None:
    # 2026-05-01..05 is the Labour Day holiday; urgent tickets do not care.
    deadline = clock.resolve_due(at(2026, 5, 1, 8, 0), URGENT, CALENDAR)
    assert deadline == clock.Deadline(at(2026, 5, 2, 8, 0), True)


def test_an_hour_limit_is_wall_clock_across_a_weekend_and_midnight() -> None:
    deadline = clock.resolve_due(at(2026, 11, 21, 22, 15), URGENT, CALENDAR)
    assert deadline.at == at(2026, 11, 22, 22, 15)


def test_an_hour_limit_from_a_utc_receipt_is_given_in_shanghai() -> None:
    deadline = clock.resolve_due(at(2026, 3, 31, 17, 30, tz=UTC), URGENT, CALENDAR)
    assert deadline.at == at(2026, 4, 2, 1, 30)
    assert deadline.at.utcoffset() == dt.timedelta(hours=8)


def test_an_hour_limit_past_the_calendar_is_still_confirmed() -> None:
    # No working day is counted, so the calendar's coverage does not matter.
    deadline = clock.resolve_due(at(2026, 12, 31, 12, 0), URGENT, CALENDAR)
    assert deadline == clock.Deadline(at(2027, 1, 1, 12, 0), True)


# --- pause ------------------------------------------------------------------------------------


def test_it_applies_the_pause_example_of_the_spec() -> None:
    due = clock.resolve_due(at(2026, 9, 30, 16, 0), COMPLAINT, CALENDAR)
    assert due.at == eod(2026, 10, 27)
    moved, lost = clock.pause_shift(
        due.at, at(2026, 10, 9, 10, 0), at(2026, 10, 13, 15, 0), CALENDAR
    )
    # 10-10 (make-up Saturday), 10-12, 10-13.
    assert lost == 3
    assert moved == clock.Deadline(eod(2026, 10, 30), True)


def test_it_counts_the_working_days_of_a_pause() -> None:
    assert clock.working_days_between(CALENDAR, dt.date(2026, 10, 9), dt.date(2026, 10, 13)) == 3


def test_a_pause_that_starts_and_ends_on_one_day_moves_nothing() -> None:
    moved, lost = clock.pause_shift(
        eod(2026, 10, 27), at(2026, 10, 9, 10, 0), at(2026, 10, 9, 18, 0), CALENDAR
    )
    assert lost == 0
    assert moved.at == eod(2026, 10, 27)


def test_a_pause_over_a_weekend_only_moves_nothing() -> None:
    # Friday evening to Sunday: no working day was lost.
    moved, lost = clock.pause_shift(
        eod(2026, 11, 30), at(2026, 11, 20, 17, 0), at(2026, 11, 22, 9, 0), CALENDAR
    )
    assert lost == 0
    assert moved.at == eod(2026, 11, 30)


def test_a_pause_across_the_national_day_holiday_counts_only_working_days() -> None:
    # Paused 09-30, resumed 10-09: 10-01..07 are holidays, 10-08 and 10-09 are lost.
    moved, lost = clock.pause_shift(
        eod(2026, 10, 27), at(2026, 9, 30, 10, 0), at(2026, 10, 9, 9, 0), CALENDAR
    )
    assert lost == 2
    assert moved == clock.Deadline(eod(2026, 10, 29), True)


def test_a_pause_is_counted_on_shanghai_dates() -> None:
    # 2026-10-12 17:00 UTC is already Tuesday 10-13 01:00 in Shanghai.
    moved, lost = clock.pause_shift(
        eod(2026, 10, 27), at(2026, 10, 9, 10, 0), at(2026, 10, 12, 17, 0, tz=UTC), CALENDAR
    )
    assert lost == 3
    assert moved.at == eod(2026, 10, 30)


def test_a_pause_moves_an_hour_deadline_by_working_days_keeping_its_time() -> None:
    moved, lost = clock.pause_shift(
        at(2026, 11, 20, 8, 0), at(2026, 11, 19, 9, 0), at(2026, 11, 20, 9, 0), CALENDAR
    )
    assert lost == 1
    assert moved.at == at(2026, 11, 23, 8, 0)


def test_a_pause_counted_across_an_uncovered_date_is_not_confirmed() -> None:
    # An overdue ticket paused 2026-12-31 and resumed Monday 2027-01-04: 01-01 is 元旦 in any
    # year, 01-04 counts as a lost working day only by the plain rule, so the moved deadline
    # is not confirmed.
    moved, lost = clock.pause_shift(
        eod(2026, 12, 15), at(2026, 12, 31, 10, 0), at(2027, 1, 4, 10, 0), CALENDAR
    )
    assert lost == 1
    assert moved == clock.Deadline(eod(2026, 12, 16), False)


def test_a_pause_over_new_year_alone_loses_no_day_but_is_not_confirmed() -> None:
    moved, lost = clock.pause_shift(
        eod(2026, 12, 15), at(2026, 12, 31, 10, 0), at(2027, 1, 2, 10, 0), CALENDAR
    )
    assert lost == 0
    assert moved == clock.Deadline(eod(2026, 12, 15), False)


def test_a_pause_inside_the_calendar_stays_confirmed() -> None:
    moved, _lost = clock.pause_shift(
        eod(2026, 12, 15), at(2026, 12, 1, 10, 0), at(2026, 12, 3, 10, 0), CALENDAR
    )
    assert moved == clock.Deadline(eod(2026, 12, 17), True)


# --- extension --------------------------------------------------------------------------------


def test_it_applies_the_extension_example_of_the_spec() -> None:
    extended = clock.shift_deadline(eod(2026, 10, 30), 5, CALENDAR)
    assert extended == clock.Deadline(eod(2026, 11, 6), True)


def test_an_extension_across_the_spring_festival_uses_the_make_up_saturdays() -> None:
    # Friday 02-13 + 3: 02-14 (make-up Saturday), then 02-24 and 02-25 after the holiday.
    extended = clock.shift_deadline(eod(2026, 2, 13), 3, CALENDAR)
    assert extended == clock.Deadline(eod(2026, 2, 25), True)


def test_an_extension_lands_on_the_make_up_saturday_after_the_spring_festival() -> None:
    # Tuesday 02-24 + 4: 02-25, 02-26, 02-27, then Saturday 02-28 (make-up).
    extended = clock.shift_deadline(eod(2026, 2, 24), 4, CALENDAR)
    assert extended == clock.Deadline(eod(2026, 2, 28), True)


def test_an_extension_of_zero_days_moves_nothing() -> None:
    assert clock.shift_deadline(eod(2026, 10, 30), 0, CALENDAR).at == eod(2026, 10, 30)


# --- coverage of the calendar -----------------------------------------------------------------


def test_a_deadline_across_the_end_of_the_calendar_is_not_confirmed() -> None:
    deadline = clock.resolve_due(at(2026, 12, 20, 11, 0), COMPLAINT, CALENDAR)
    assert deadline == clock.Deadline(eod(2027, 1, 11), False)


def test_a_deadline_that_stays_inside_the_calendar_is_confirmed() -> None:
    # 2026-12-29 + 2 working days: 12-30 and 12-31, never looking at 2027.
    assert clock.resolve_due(at(2026, 12, 29, 9, 0), CONSULT, CALENDAR).confirmed is True


def test_an_extension_past_the_end_of_the_calendar_is_not_confirmed() -> None:
    extended = clock.shift_deadline(eod(2026, 12, 30), 5, CALENDAR)
    # 12-31, then (01-01 being 元旦) 01-04, 01-05, 01-06, 01-07 by the plain rule.
    assert extended == clock.Deadline(eod(2027, 1, 7), False)


def test_an_extension_never_lands_on_new_years_day_of_an_uncovered_year() -> None:
    # The incident: Thursday 2026-12-31 + 1 working day gave Friday 2027-01-01.
    extended = clock.shift_deadline(eod(2026, 12, 31), 1, CALENDAR)
    assert extended == clock.Deadline(eod(2027, 1, 4), False)


UNCOVERED = clock.calendar_from_rows([], range(2004, 2027))


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        pytest.param(dt.date(2027, 1, 1), False, id="new-year-friday"),
        pytest.param(dt.date(2030, 1, 1), False, id="new-year-tuesday"),
        pytest.param(dt.date(2027, 5, 1), False, id="labour-day-saturday"),
        pytest.param(dt.date(2028, 5, 1), False, id="labour-day-monday"),
        pytest.param(dt.date(2027, 10, 1), False, id="national-day-friday"),
        pytest.param(dt.date(2029, 10, 2), False, id="national-day-tuesday"),
        pytest.param(dt.date(2029, 10, 3), False, id="national-day-wednesday"),
        pytest.param(dt.date(2029, 10, 4), True, id="october-4th-waits-for-the-schedule"),
        pytest.param(dt.date(2027, 1, 4), True, id="an-ordinary-monday"),
        pytest.param(dt.date(2027, 2, 8), True, id="spring-festival-waits-for-the-schedule"),
        pytest.param(dt.date(2027, 1, 2), False, id="a-saturday"),
    ],
)
def test_it_knows_the_fixed_date_holidays_of_an_uncovered_year(day: dt.date, workday: bool) -> None:
    assert UNCOVERED.is_workday(day) is workday
    assert not UNCOVERED.covers(day)


def test_a_covered_year_follows_its_table_even_on_a_fixed_date() -> None:
    # The table is the official word: a covered year without the override is a working day.
    edited = clock.calendar_from_rows([], [2027])
    assert edited.is_workday(dt.date(2027, 1, 1)) is True
    assert CALENDAR.is_workday(dt.date(2026, 1, 1)) is False  # from chinesecalendar


def test_a_year_before_the_calendar_is_not_confirmed() -> None:
    assert clock.resolve_due(at(2003, 12, 1, 9, 0), CONSULT, CALENDAR).confirmed is False


def test_an_empty_calendar_falls_back_to_the_plain_rule_unconfirmed() -> None:
    deadline = clock.resolve_due(at(2026, 9, 30, 16, 0), CONSULT, clock.WorkCalendar())
    # Without the holiday table only the fixed-date holidays (10-01 to 10-03) are known: the
    # make-up days and the rest of the Golden Week are not.
    assert deadline == clock.Deadline(eod(2026, 10, 6), False)


# --- naive datetimes --------------------------------------------------------------------------

NAIVE = dt.datetime(2026, 10, 9, 10, 0)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: clock.local_date(NAIVE), id="local_date"),
        pytest.param(lambda: clock.ack_due(NAIVE), id="ack_due"),
        pytest.param(lambda: clock.ack_warning_at(NAIVE), id="ack_warning_at"),
        pytest.param(lambda: clock.resolve_due(NAIVE, CONSULT, CALENDAR), id="resolve_due"),
        pytest.param(lambda: clock.resolve_due(NAIVE, URGENT, CALENDAR), id="resolve_due_hours"),
        pytest.param(lambda: clock.shift_deadline(NAIVE, 5, CALENDAR), id="shift_deadline"),
        pytest.param(lambda: clock.shift_deadline(NAIVE, 0, CALENDAR), id="shift_deadline_0"),
        pytest.param(
            lambda: clock.pause_shift(eod(2026, 10, 27), NAIVE, at(2026, 10, 13), CALENDAR),
            id="pause_shift",
        ),
        pytest.param(
            lambda: clock.resolution_warning_at(at(2026, 10, 1), NAIVE, clock.WORKING_DAYS),
            id="resolution_warning_at",
        ),
        pytest.param(
            lambda: clock.resolution_warning_at(NAIVE, at(2026, 10, 11), clock.HOURS),
            id="resolution_warning_at_hours",
        ),
    ],
)
def test_it_rejects_a_naive_datetime(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="naive"):
        call()


# --- warnings ---------------------------------------------------------------------------------


def test_the_ack_warning_comes_20_minutes_after_receipt() -> None:
    received = at(2026, 11, 22, 23, 50)
    assert clock.ack_warning_at(received) == at(2026, 11, 23, 0, 10)
    assert clock.ack_warning_at(received) < clock.ack_due(received)


def test_a_working_day_limit_warns_at_midnight_starting_the_due_date() -> None:
    received = at(2026, 9, 30, 16, 0)
    due = clock.resolve_due(received, CONSULT, CALENDAR)
    warning = clock.resolution_warning_at(received, due.at, clock.WORKING_DAYS)
    assert warning == at(2026, 10, 9, 0, 0)


def test_a_working_day_limit_warns_at_shanghai_midnight_whatever_the_zone_given() -> None:
    received = at(2026, 3, 31, 17, 30, tz=UTC)
    due = clock.resolve_due(received, CONSULT, CALENDAR).at.astimezone(UTC)
    warning = clock.resolution_warning_at(received, due, clock.WORKING_DAYS)
    assert warning == at(2026, 4, 3, 0, 0)


def test_an_hour_limit_warns_at_80_percent_of_the_time() -> None:
    received = at(2026, 5, 1, 8, 0)
    due = clock.resolve_due(received, URGENT, CALENDAR)
    warning = clock.resolution_warning_at(received, due.at, clock.HOURS)
    # 80% of 24 hours is 19 h 12 min.
    assert warning == at(2026, 5, 2, 3, 12)
    assert received < warning < due.at


# --- arguments --------------------------------------------------------------------------------


def test_it_refuses_a_limit_below_one_working_day() -> None:
    with pytest.raises(ValueError):
        clock.nth_working_day_after(CALENDAR, dt.date(2026, 10, 9), 0)
