"""Figures for a past moment use only what had happened by then (issue 14, item 2).

A month is worked through the real services (time moved to each step), its figures taken at
a mid-month moment and at the report's moment (01:00 on the 1st of April); then everything
that can happen to its tickets later happens: late replies, closes, feedback and reopens
(with their redo deadlines), approved extensions, resumed pauses, transfers, returns,
reclassifications, merges, invalid marks, first acknowledgements and assignments, the SLA
sweep, a 12345 work order that arrives with an earlier 受理时间. Every figure at the two
moments, computed again, is unchanged: totals, every breakdown, the trend, the department
scope, the merged/invalid counts, the breach list and the whole monthly report context — on
both engines, on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from dashboards import metrics, reference, rollup
from dashboards.metrics import ALL, BREAKDOWNS, Period
from dashboards.report import report_context
from sla.sweep import sweep_once
from tests.dashboards.conftest import at
from tickets import services
from tickets.models import Department, Ticket
from tickets.services.extensions import ticket_extension_decide, ticket_extension_request
from tickets.services.feedback import ticket_feedback

MARCH = Period.month(2026, 3)
MID = at("03-20 12:00")
REPORT = at("2026-04-01 01:00")


@pytest.fixture(params=["native", "python"])
def engine(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(rollup, "ENGINE", "python")
    return request.param


class Month:
    """The cast acting on tickets at given moments (time stands still at each)."""

    def __init__(self, cast: dict[str, Any], departments: dict[str, Department], clock: Any,
                 make_ticket: Callable[..., Ticket]) -> None:  # fmt: skip
        self.cast, self.departments, self.clock, self.make = cast, departments, clock, make_ticket
        self.tickets: dict[str, Ticket] = {}

    def when(self, moment: str) -> Month:
        self.clock.move_to(at(moment), tick=False)
        return self

    def new(self, name: str, moment: str, **fields: Any) -> int:
        self.when(moment)
        self.tickets[name] = self.make(f"{name}：建设路路灯不亮，请尽快处理。", **fields)
        return self.tickets[name].pk

    def id(self, name: str) -> int:
        return self.tickets[name].pk

    def do(self, moment: str, action: str, name: str, who: str = "dispatcher", **kw: Any) -> Any:
        self.when(moment)
        service = getattr(services, f"ticket_{action}")
        return service(actor=self.cast[who], ticket_id=self.id(name), **kw)

    def dispatch(self, name: str, day: str, dept: str = "a", handler: str = "handler_a") -> None:
        self.do(f"{day} 09:10", "acknowledge", name)
        self.do(f"{day} 09:20", "assign", name, department_id=self.departments[dept].pk)
        self.do(f"{day} 09:30", "accept", name, handler)

    def rate(self, moment: str, name: str, satisfaction: str, resolved: bool | None) -> None:
        self.when(moment)
        ticket_feedback(ticket_id=self.id(name), satisfaction=satisfaction, resolved=resolved)

    def extend(self, moment: str, name: str, days: int, who: str = "handler_a") -> int:
        self.when(moment)
        request = ticket_extension_request(
            actor=self.cast[who], ticket_id=self.id(name), days=days, reason="需要协调"
        )
        return request.pk

    def decide(self, moment: str, request_id: int, who: str = "supervisor_a") -> None:
        self.when(moment)
        ticket_extension_decide(actor=self.cast[who], request_id=request_id, approve=True)


def _march(month: Month) -> dict[str, int]:
    """March (until just before the report): what the figures at MID and REPORT describe."""
    light = {"category_code": "lights"}
    housing = {"category_code": "housing"}
    pending: dict[str, int] = {}
    # replied on time; rated later (unsatisfied: reopened, replied again, then closed)
    month.new("ontime", "03-02 09:00", **light)
    month.dispatch("ontime", "03-02")
    month.do("03-05 10:00", "reply", "ontime", "handler_a", content="路灯已修复。")
    # never replied in March: overdue at both moments (help, due 03-17); replied and reopened
    # in April, which gives it a redo deadline after the report's moment
    month.new("overdue", "03-03 09:00", **light)
    month.dispatch("overdue", "03-03")
    # consult (due 03-11), paused before its deadline and resumed only in April
    month.new("paused", "03-09 09:00", request_type="consult", **housing)
    month.dispatch("paused", "03-09", "b", "handler_b")
    month.do("03-10 10:00", "request_info", "paused", "handler_b", question="请提供门牌号")
    # consult (due 03-18): an extension asked for before the deadline, approved in April
    month.new("extended", "03-16 09:00", request_type="consult", **light)
    month.dispatch("extended", "03-16")
    pending["extension"] = month.extend("03-17 10:00", "extended", 5)
    # with bureau a at both moments, transferred to b in April
    month.new("transferred", "03-12 09:00", **light)
    month.dispatch("transferred", "03-12")
    # reclassified in April (category, type and so its deadline)
    month.new("reclassified", "03-04 09:00", request_type="consult", **light)
    month.dispatch("reclassified", "03-04")
    # merged and marked invalid in April: in R at both moments
    month.new("duplicate", "03-13 09:00", **light)
    month.do("03-13 09:10", "acknowledge", "duplicate")
    month.new("spam", "03-14 09:00")
    # acknowledged, or assigned, or returned only in April
    month.new("unseen", "03-18 09:00")
    month.new("undispatched", "03-19 09:00", **housing)
    month.do("03-19 09:05", "acknowledge", "undispatched")
    month.new("returned", "03-11 09:00", **housing)
    month.do("03-11 09:10", "acknowledge", "returned")
    month.do("03-11 09:20", "assign", "returned", department_id=month.departments["b"].pk)
    # between the two moments: a reply, feedback, a reopen and an approved extension
    month.new("late_march", "03-23 09:00", request_type="consult", **light)
    month.dispatch("late_march", "03-23")
    month.do("03-24 15:00", "reply", "late_march", "handler_a", content="已处理。")
    month.rate("03-25 10:00", "late_march", "unsatisfied", False)
    return pending


def _april(month: Month, pending: dict[str, int]) -> None:
    """Everything that happens to March's tickets after the report's moment."""
    month.rate("04-02 09:00", "ontime", "unsatisfied", False)  # reopened: a redo deadline
    month.do("04-02 10:00", "reply", "ontime", "handler_a", content="重办答复。")
    month.rate("04-02 11:00", "ontime", "satisfied", True)  # closed
    month.do("04-02 12:00", "reply", "overdue", "handler_a", content="迟到的答复。")
    month.rate("04-03 09:00", "overdue", "unsatisfied", False)  # reopened: due mid-April
    month.do("04-03 10:00", "resume", "paused", "handler_b")
    month.decide("04-03 11:00", pending["extension"])
    month.do("04-07 09:00", "transfer", "transferred", "handler_a",
             department_id=month.departments["b"].pk, reason="属住建局职责")  # fmt: skip
    housing = Department.objects.get(code="b").pk
    category = Ticket.objects.get(pk=month.id("returned")).category_id
    month.do("04-07 10:00", "classify", "reclassified", request_type="complaint",
             category_id=category)  # fmt: skip
    month.do("04-07 11:00", "merge", "duplicate", into_case_no=month.tickets["ontime"].case_no)
    month.do("04-07 12:00", "mark_invalid", "spam", reason="广告")
    month.do("04-08 09:00", "acknowledge", "unseen")
    month.do("04-08 09:10", "assign", "undispatched", department_id=housing)
    month.do("04-08 09:20", "return", "returned", "handler_b", reason="非本部门职责")
    month.do("04-08 11:00", "reply", "late_march", "handler_a", content="重办答复。")
    month.rate("04-08 12:00", "late_march", "satisfied", True)
    month.when("04-09 09:00")
    sweep_once()  # breaches and reminders of what is still open
    # a 12345 work order that reaches us now, with its own earlier 受理时间
    month.new("late_work_order", "04-09 10:00", channel="hotline", acknowledged=True,
              received_at=at("03-27 10:00"), external_ref="GD-0327-1")  # fmt: skip


def _snapshot(as_of: dt.datetime, scope: set[int]) -> dict[str, Any]:
    found = metrics.figures_all(period=MARCH, as_of=as_of, trend_months=12)
    scoped = metrics.figures_all(period=MARCH, as_of=as_of, departments=scope)
    context = report_context(period=MARCH, as_of=as_of)
    breaches = [
        (ticket.case_no, ticket.then_department_id, ticket.then_resolve_due_at)
        for ticket in metrics.breaches_in_period(period=MARCH, as_of=as_of)
    ]
    assert [row["case_no"] for row in context.pop("breaches")] == [row[0] for row in breaches]
    return {
        "total": found.total,
        "groups": found.groups,
        "trend": found.trend,
        "previous": found.previous_month(),
        "scoped": (scoped.total, scoped.groups),
        "excluded": metrics.excluded_counts(MARCH, as_of=as_of),
        "excluded_scoped": metrics.excluded_counts(MARCH, as_of=as_of, departments=scope),
        "breaches": breaches,
        "reference": {
            by: reference.figures_by_queries(period=MARCH, as_of=as_of, by=by)
            for by in (None, *BREAKDOWNS)
        },
        "report": context,
    }


@pytest.fixture
def lived(cast, departments, categories, make_ticket, time_machine) -> Month:
    return Month(cast, departments, time_machine, make_ticket)


def test_it_gives_the_same_figures_for_a_past_moment_after_later_events(lived, engine):
    scope = lived.departments["a"].subtree_ids()
    pending = _march(lived)
    lived.when("03-31 23:59")
    before = {moment: _snapshot(moment, scope) for moment in (MID, REPORT)}
    total = before[REPORT]["total"]
    assert total.received == 12 and total.overdue_open >= 3 and total.reopen_rate.num == 1
    assert before[MID]["total"].received == 11  # late_march came on 03-23

    _april(lived, pending)

    # The later events really changed what the tickets' rows say now …
    now = {name: Ticket.objects.get(pk=ticket.pk) for name, ticket in lived.tickets.items()}
    assert now["overdue"].resolve_due_at > REPORT and now["overdue"].reopen_count == 1
    assert now["paused"].resolve_due_at > REPORT and now["extended"].resolve_due_at > MID
    assert now["transferred"].department.code == "b" and now["undispatched"].department_id
    assert now["reclassified"].request_type == "complaint"
    assert (now["duplicate"].state, now["spam"].state) == ("merged", "invalid")
    assert now["ontime"].state == "closed" and now["ontime"].reopen_count == 1
    assert now["late_work_order"].received_at < REPORT
    later = metrics.figures_all(period=MARCH, as_of=at("04-09 12:00"))
    assert later.total != total and later.groups["department"] != before[REPORT]["groups"]

    # … and not a single figure for the two past moments moved.
    for moment in (MID, REPORT):
        after = _snapshot(moment, scope)
        for part, value in before[moment].items():
            assert after[part] == value, (moment, part)
        assert after["reference"][None][ALL] == after["total"]


def test_it_counts_an_overdue_ticket_whose_redo_deadline_came_later(lived, engine):
    """The case of the issue: overdue at the report's moment, replied and reopened after it
    (the row's deadline is now the redo deadline): still overdue in the month's figures."""
    lived.new("late", "03-02 09:00", category_code="lights")
    lived.dispatch("late", "03-02")
    lived.when("2026-04-01 00:30")
    before = metrics.figures(period=MARCH, as_of=REPORT)
    assert (before.overdue_open, before.on_time_rate.detail) == (1, "0/1")
    lived.do("04-02 10:00", "reply", "late", "handler_a", content="已修复。")
    lived.rate("04-02 11:00", "late", "unsatisfied", False)
    assert Ticket.objects.get(pk=lived.id("late")).resolve_due_at > REPORT
    after = metrics.figures(period=MARCH, as_of=REPORT)
    assert (after.overdue_open, after.on_time_rate.detail, after.reopen_rate.num) == (1, "0/1", 0)
    (breach,) = metrics.breaches_in_period(period=MARCH, as_of=REPORT)
    assert breach.then_resolve_due_at == at("2026-03-16 23:59:59")


def test_it_reads_history_imported_cases_as_they_were_at_each_moment(case, engine):
    """Imported history is stamped step by step: a case replied and reopened after as_of is
    overdue at as_of with the deadline of its first cycle; before its assignment it counts
    under 未派单."""
    case("03-02 09:00", dept="a", category="lights", ack="03-02 09:10", assigned="03-09 09:00",
         replies=("03-20 10:00",), feedback=(("03-21 10:00", "unsatisfied", False),))  # fmt: skip
    early = metrics.figures_by(period=MARCH, as_of=at("03-05 12:00"), by="department")
    assert list(early) == [None]  # 未派单 until 03-09
    middle = metrics.figures(period=MARCH, as_of=at("03-18 12:00"))
    assert (middle.overdue_open, middle.reply_rate.detail) == (1, "0/1")  # due 03-16
    final = metrics.figures(period=MARCH, as_of=at("03-25 12:00"))
    assert (final.overdue_open, final.reopen_rate.detail, final.on_time_rate.detail) == (
        0,
        "1/1",
        "0/1",
    )
