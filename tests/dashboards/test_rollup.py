"""All breakdowns in one pass (``metrics.figures_all``, ``dashboards.rollup``) give exactly the
figures of the reference queries (``reference.figures_by_queries``, one breakdown at a time), on
both engines, and their number of queries does not grow with breakdowns, groups or tickets.

The data: the hand-computed month of conftest.py, a month of imported history (and part of
February), and edge cases: a ticket received at 23:50 on the last day (acknowledged, replied
and rated in April), one received at 23:59 Shanghai time on 28 February, one returned twice,
extended, reopened and rated twice, one acknowledged in the minute it arrived, one after
3 minutes 7.250001 seconds.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards import metrics, reference, rollup
from dashboards.metrics import ALL, BREAKDOWNS, Figures, Period
from tests.dashboards.conftest import at
from tests.dashboards.history_data import month_of_history
from tickets.models import Category, Department

MARCH = Period.month(2026, 3)
AS_OFS = (at("03-10 12:00"), at("03-31 23:55"), at("2026-04-01 01:00"), at("2026-05-01 00:00"))
PERIODS = (
    MARCH,
    Period(Period.month(2026, 2).start, MARCH.end),  # two months: two month groups
    Period.days(at("03-01 00:00").date(), at("03-15 00:00").date()),
)


@pytest.fixture(params=["native", "python"])
def engine(request, monkeypatch):
    """The database's own engine (GROUPING SETS on PostgreSQL), then the portable one."""
    if request.param == "python":
        monkeypatch.setattr(rollup, "ENGINE", "python")
    return request.param


@pytest.fixture
def varied(march, case, tmp_path, categories):
    path = tmp_path / "history.jsonl"
    lines = month_of_history(count=90, seed=11) + month_of_history(month=2, count=30, seed=5)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    call_command("import_history", str(path), "--quiet-progress", stdout=io.StringIO())
    case("03-31 23:50", dept="b1", category="housing", request_type="complaint",
         channel="hotline", ack="2026-04-01 00:20", replies=("2026-04-03 10:00",),
         feedback=(("2026-04-04 09:00", "unsatisfied", False),))  # fmt: skip
    case("2026-02-28 23:59", dept="a1", ack="03-01 00:10", replies=("03-02 09:00",))
    case("03-02 08:00", dept="a", category="lights", request_type="complaint",
         ack="03-02 08:29", assigned="03-02 09:00", returns=("03-02 10:00", "03-03 09:00"),
         extensions=(("03-04 10:00", 3),), replies=("03-06 10:00", "03-20 10:00"),
         feedback=(("03-07 09:00", "unsatisfied", False),
                   ("03-21 09:00", "satisfied", True)))  # fmt: skip
    case("03-15 10:00", channel="wechat", ack="03-15 10:00")
    case("03-16 10:00", channel="weibo", dept="b", ack="2026-03-16 10:03:07.250001")


def _reference(period: Period, as_of: Any, departments: Any = None) -> dict[Any, Any]:
    return {
        by: reference.figures_by_queries(period=period, as_of=as_of, by=by, departments=departments)
        for by in (None, *BREAKDOWNS)
    }


@pytest.mark.parametrize("as_of", AS_OFS)
@pytest.mark.parametrize("period", PERIODS, ids=lambda period: period.key)
def test_it_gives_exactly_the_figures_of_the_reference_queries(varied, engine, period, as_of):
    reference = _reference(period, as_of)
    assert reference[None][ALL].received > 10
    found = metrics.figures_all(period=period, as_of=as_of)
    assert found.total == reference[None][ALL]
    for by in BREAKDOWNS:
        assert found.groups[by] == reference[by], by
        assert metrics.figures_by(period=period, as_of=as_of, by=by) == reference[by], by
    assert metrics.figures(period=period, as_of=as_of) == reference[None][ALL]


def test_it_has_groups_of_every_kind_in_the_data(varied):
    reference = _reference(MARCH, AS_OFS[-1])
    assert None in reference["department"] and None in reference["category"]  # 未派单, 未分类
    assert len(reference["department"]) >= 4 and len(reference["channel"]) == 4
    total: Figures = reference[None][ALL]
    for rate in ("return_rate", "extension_rate", "reopen_rate", "satisfaction_rate"):
        assert getattr(total, rate).num > 0, rate
    medians = {
        row.ack_minutes_median
        for by in BREAKDOWNS
        for row in reference[by].values()
        if row.ack_minutes_median is not None
    }
    assert any(value != int(value) for value in medians)


def test_it_scopes_one_pass_figures_to_departments(varied, engine, departments):
    scope = departments["a"].subtree_ids()
    reference = _reference(MARCH, AS_OFS[2], scope)
    found = metrics.figures_all(period=MARCH, as_of=AS_OFS[2], departments=scope)
    assert found.total == reference[None][ALL]
    assert found.groups == {by: reference[by] for by in BREAKDOWNS}


def test_it_gives_the_reference_trend_and_previous_month(varied, engine):
    as_of = AS_OFS[2]
    spans = MARCH.months_back(12)
    months = reference.figures_by_queries(
        period=Period(spans[0].start, spans[-1].end), as_of=as_of, by="month"
    )
    expected = [months.get(span.key) or Figures(key=span.key, label=span.label) for span in spans]
    assert expected[-2].received > 0 and expected[0].received == 0
    found = metrics.figures_all(period=MARCH, as_of=as_of, trend_months=12)
    assert found.trend == expected
    assert metrics.trend(period=MARCH, as_of=as_of) == expected
    previous = reference.figures_by_queries(period=MARCH.previous_month(), as_of=as_of, by=None)
    assert found.previous_month() == previous[ALL]


def test_it_orders_breakdown_tables_like_the_per_breakdown_function(varied, engine):
    found = metrics.figures_all(period=MARCH, as_of=AS_OFS[2])
    for by in BREAKDOWNS:
        assert found.breakdown(by, limit=3) == metrics.breakdown(
            period=MARCH, as_of=AS_OFS[2], by=by, limit=3
        )


def _statements(run: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [query["sql"] for query in captured.captured_queries]


def test_it_computes_every_breakdown_in_a_fixed_number_of_queries(case, departments, categories):
    def everything() -> None:
        metrics.figures_all(period=MARCH, as_of=AS_OFS[2], trend_months=12)

    def one_breakdown() -> None:
        metrics.figures_all(period=MARCH, as_of=AS_OFS[2], breakdowns=["channel"], trend_months=12)

    case("03-02 09:00", dept="a", category="lights", ack="03-02 09:10", replies=("03-03 10:00",))
    everything()  # the calendar cached per process, as in a running server
    small = _statements(everything)
    for number in range(12):  # more departments, categories and tickets
        department = Department.objects.create(code=f"d{number}", name=f"部门{number}")
        departments[f"d{number}"] = department
        categories[f"c{number}"] = Category.objects.create(code=f"c{number}", name=f"分类{number}")
        for day in (2, 9, 16):
            case(f"03-{day:02d} 10:00", dept=f"d{number}", category=f"c{number}",
                 ack=f"03-{day:02d} 10:20", replies=(f"03-{day + 3:02d} 10:00",),
                 feedback=((f"03-{day + 4:02d} 10:00", "satisfied", True),))  # fmt: skip
    large = _statements(everything)
    assert len(large) == len(small)

    def scans(statements: list[str]) -> int:  # statements that read the tickets
        return sum('FROM "tickets_ticket"' in sql for sql in statements)

    assert scans(large) == scans(_statements(one_breakdown))
    # the period and the eleven months before it, each in one statement (the portable
    # engine: one for the tickets, one for their feedback)
    assert scans(large) == (2 if connection.vendor == "postgresql" else 4)
