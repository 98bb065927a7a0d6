"""Every figure against a month computed by hand (see the ``march`` fixture in conftest.py).

R = t1..t6 (t7 is invalid, t8 was received in February). as_of = 2026-04-01 01:00.

| ticket | dept | ack (min) | first reply | due (by our rules) | on time | feedback |
|---|---|---|---|---|---|---|
| t1 | a | 10 | 03-03 | 03-04 (consult, 2 wd) | yes | 满意, 解决 |
| t2 | a | 45 (late) | 03-25 | 03-23 (complaint, 15 wd) | no | 不满意, 未解决 → 重办 |
| t3 | a | 5 | — | 03-24 + 2 wd extension = 03-26 | overdue | — |
| t4 | a | 20 | — | 04-13 (help, 10 wd) | not yet due | — (returned once) |
| t5 | 未派单 | never | — | 03-19 (help) | overdue | — |
| t6 | b | 5 | 03-09 | 03-10 (consult) | yes | 基本满意 |
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dashboards import metrics
from dashboards.metrics import Period, Rate
from tests.dashboards.conftest import at

MARCH = Period.month(2026, 3)
AS_OF = at("2026-04-01 01:00")


def test_it_computes_the_deadlines_of_imported_history_by_our_rules(march):
    assert march["t1"].resolve_due_at == at("2026-03-04 23:59:59")
    assert march["t2"].resolved_on_time is False
    assert march["t3"].resolve_due_at == at("2026-03-26 23:59:59")
    assert march["t5"].resolve_due_at == at("2026-03-19 23:59:59")
    assert march["t6"].resolved_on_time is True
    assert march["t2"].ack_on_time is False and march["t1"].ack_on_time is True
    assert march["t2"].state == "in_progress" and march["t2"].reopen_count == 1
    assert all(ticket.sla_next_at is None for ticket in march.values())


def test_it_computes_every_figure_of_a_hand_computed_month(march):
    figures = metrics.figures(period=MARCH, as_of=AS_OF)
    assert figures.received == 6
    assert figures.ack_on_time_rate == Rate(4, 6)
    assert figures.ack_on_time_rate.display == "66.7%"
    assert figures.ack_minutes_median == 10
    assert figures.reply_rate == Rate(3, 6)
    assert figures.reply_rate.display == "50.0%"
    assert figures.on_time_rate == Rate(2, 5)
    assert figures.overdue_open == 2
    assert figures.satisfaction_rate == Rate(2, 3)
    assert figures.resolved_rate == Rate(1, 3)
    assert figures.resolved_rate.display == "33.3%"
    assert figures.reopen_rate == Rate(1, 3)
    assert figures.extension_rate == Rate(1, 6)
    assert figures.return_rate == Rate(1, 5)
    assert figures.reply_days_median == 1
    assert metrics.excluded_counts(MARCH) == {"merged": 0, "invalid": 1}


def test_it_breaks_figures_down_by_department_with_dashes_for_empty_denominators(march):
    rows = {row.label: row for row in metrics.breakdown(period=MARCH, as_of=AS_OF, by="department")}
    assert list(rows) == ["城管局", "住建局", "未派单"]
    a, b, none = rows["城管局"], rows["住建局"], rows["未派单"]
    assert (a.received, a.ack_on_time_rate, a.reply_rate) == (4, Rate(3, 4), Rate(2, 4))
    assert (a.on_time_rate, a.satisfaction_rate, a.return_rate) == (
        Rate(1, 3),
        Rate(1, 2),
        Rate(1, 4),
    )
    assert a.ack_minutes_median == 15  # 5, 10, 20, 45
    assert a.reply_days_median == 9  # 1 and 17
    assert (b.on_time_rate.display, b.return_rate.display) == ("100.0%", "0.0%")
    assert none.satisfaction_rate.display == "—"
    assert none.return_rate.display == "—"
    assert none.on_time_rate == Rate(0, 1) and none.on_time_rate.display == "0.0%"
    assert none.display("ack_minutes_median") == "—"
    assert none.display("reply_days_median") == "—"


def test_it_breaks_figures_down_by_channel_category_and_request_type(march):
    channels = {
        row.key: row.received for row in metrics.breakdown(period=MARCH, as_of=AS_OF, by="channel")
    }
    assert channels == {"website": 3, "hotline": 1, "wechat": 1, "weibo": 1}
    categories = {
        row.label: row.received
        for row in metrics.breakdown(period=MARCH, as_of=AS_OF, by="category")
    }
    assert categories == {"路灯": 3, "物业": 2, "未分类": 1}
    types = {
        row.label: row.on_time_rate.display
        for row in metrics.breakdown(period=MARCH, as_of=AS_OF, by="request_type")
    }
    assert types == {"求助": "0.0%", "咨询": "100.0%", "投诉": "0.0%"}


def test_it_counts_only_what_happened_by_as_of(march):
    figures = metrics.figures(period=MARCH, as_of=at("03-20 00:00"))
    assert figures.received == 5  # t4 arrived on 03-30
    assert figures.reply_rate == Rate(2, 5)  # t2's reply came on 03-25
    assert figures.overdue_open == 1  # t5 only: t3 and t2 were not due yet
    assert figures.satisfaction_rate == Rate(2, 2)


def test_it_shows_a_dash_for_an_empty_month(db):
    figures = metrics.figures(period=Period.month(2025, 1), as_of=AS_OF)
    assert figures.received == 0
    for key, _label, kind in metrics.FIGURES:
        if kind != "count":
            assert figures.display(key) == "—", key


def test_it_rounds_rates_half_up_to_one_decimal():
    assert Rate(1, 8).percent == Decimal("12.5")
    assert Rate(2, 3).display == "66.7%"
    assert Rate(1, 6).display == "16.7%"
    assert Rate(0, 0).display == "—"


def test_it_ranks_departments_and_marks_small_samples(case):
    for day in range(2, 12):
        case(f"03-{day:02d} 09:00", dept="a", request_type="consult", ack=f"03-{day:02d} 09:05",
             replies=(f"03-{day:02d} 15:00",))  # fmt: skip
    for day in range(2, 11):
        case(f"03-{day:02d} 09:00", dept="b", request_type="consult", ack=f"03-{day:02d} 09:05",
             replies=(f"03-{day:02d} 15:00",))  # fmt: skip
    rows = metrics.breakdown(period=MARCH, as_of=AS_OF, by="department")
    table = metrics.league(rows, rank_by="on_time_rate")
    assert [(row.figures.label, row.rank, row.insufficient) for row in table] == [
        ("城管局", 1, False),
        ("住建局", None, True),
    ]


def test_it_gives_equal_rates_the_same_rank(case, departments):
    for dept in ("a", "b", "a1"):
        for day in range(2, 12):
            case(f"03-{day:02d} 09:00", dept=dept, request_type="consult",
                 ack=f"03-{day:02d} 09:05", replies=(f"03-{day:02d} 15:00",))  # fmt: skip
    case("03-12 09:00", dept="a1", request_type="consult", ack="03-12 09:05",
         replies=("03-20 15:00",))  # fmt: skip
    table = metrics.league(metrics.breakdown(period=MARCH, as_of=AS_OF, by="department"))
    assert [(row.figures.label, row.rank) for row in table] == [
        ("城管局", 1), ("住建局", 1), ("市容科", 3),
    ]  # fmt: skip


def test_it_draws_a_twelve_month_trend_with_empty_months(march):
    rows = metrics.trend(period=MARCH, as_of=AS_OF)
    assert [row.key for row in rows][-3:] == ["2026-01", "2026-02", "2026-03"]
    assert len(rows) == 12
    assert rows[-1].received == 6 and rows[-2].received == 1 and rows[0].received == 0
    assert rows[-1].on_time_rate == Rate(2, 5)


def test_it_lists_the_breached_cases_of_a_month(march):
    breached = list(metrics.breaches_in_period(period=MARCH, as_of=AS_OF))
    assert {ticket.pk for ticket in breached} == {march["t2"].pk, march["t3"].pk, march["t5"].pk}
    figures = metrics.figures(period=MARCH, as_of=AS_OF)
    assert len(breached) == figures.on_time_rate.den - figures.on_time_rate.num


def test_it_lists_current_breaches(march):
    now = at("03-31 12:00")
    current = {t.pk for t in metrics.breaches_current(now=now)}
    # t2 was reopened on 03-26: its redo deadline (5 working days) is 04-02; t8 (February)
    # is still open past its deadline, whatever month it came in.
    assert current == {march["t3"].pk, march["t5"].pk, march["t8"].pk}
    assert {
        t.pk for t in metrics.breaches_current(now=now, departments={march["t6"].department_id})
    } == set()


def test_it_scopes_figures_to_departments(march, departments):
    figures = metrics.figures(period=MARCH, as_of=AS_OF, departments=departments["b"].subtree_ids())
    assert figures.received == 1 and figures.reply_rate.display == "100.0%"


def test_it_periods_are_calendar_months_in_china():
    period = Period.month(2026, 12)
    assert period.start == dt.datetime(2026, 12, 1, tzinfo=metrics.CHINA)
    assert period.end == dt.datetime(2027, 1, 1, tzinfo=metrics.CHINA)
    assert Period.month(2026, 1).previous_month().key == "2025-12"
    assert period.label == "2026年12月"
    assert (
        Period.days(dt.date(2026, 3, 1), dt.date(2026, 3, 15)).label == "2026-03-01 至 2026-03-15"
    )
