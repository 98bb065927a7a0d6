"""Hot issues on the real database: the snapshot job, the one-click merge and link, lead-case
links and the reads for the inbox and the dashboard."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import requires_postgres, run_together
from tickets import services
from tickets.errors import ActionForbidden, ConflictError, InvalidInput, TicketNotFound
from tickets.hotspots.selectors import hot_issues_for_inbox, hot_issues_of_week, ticket_links
from tickets.hotspots.services import (
    hotspot_link,
    hotspot_merge,
    hotspots_refresh,
    ticket_link_lead,
    ticket_unlink_lead,
)
from tickets.models import CaseLink, HotIssue, HotspotRun, State, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

PIPE = [
    "幸福小区3栋楼下水管爆了，水哗哗往外冒，路都淹了",
    "幸福小区供水管道破裂，大量自来水外涌，请尽快抢修",
    "幸福小区门口自来水管爆裂，水漫了半条路",
    "幸福小区的水管破了两个多小时了还没人来修",
]
OTHERS = [
    "红旗路88号顶楼有住户私自加建彩钢房",
    "孩子今年上小学，请问对口学校是哪所",
    "公交12路早高峰间隔太长，建议加密班次",
]


@pytest.fixture
def burst(make_ticket: Any) -> list[Ticket]:
    tickets = [make_ticket(text, address="和平街道幸福小区") for text in PIPE]
    for text in OTHERS:
        make_ticket(text)
    return tickets


def test_it_finds_a_hot_issue_among_the_weeks_tickets(burst: list[Ticket]) -> None:
    result = hotspots_refresh()
    assert result.tickets == len(PIPE) + len(OTHERS)
    [issue] = HotIssue.objects.all()
    assert issue.size == 4
    assert issue.area == "和平街道幸福小区"
    assert "水管" in issue.label
    assert set(issue.members.values_list("ticket_id", flat=True)) == {t.pk for t in burst}
    assert issue.lead_id == burst[0].pk  # the oldest, as none is further along


def test_a_second_run_replaces_the_snapshot(burst: list[Ticket]) -> None:
    hotspots_refresh()
    first = HotspotRun.objects.get()
    hotspots_refresh()
    assert HotspotRun.objects.get().pk != first.pk
    assert HotIssue.objects.count() == 1


def test_two_reports_are_not_yet_a_hot_issue(make_ticket: Any) -> None:
    for text in PIPE[:2]:
        make_ticket(text, address="和平街道幸福小区")
    hotspots_refresh()
    assert HotspotRun.objects.count() == 1
    assert HotIssue.objects.count() == 0


def test_invalid_tickets_are_left_out_and_merged_ones_count_with_their_case(
    burst: list[Ticket], cast: dict[str, Any]
) -> None:
    dispatcher = cast["dispatcher"]
    services.ticket_mark_invalid(actor=dispatcher, ticket_id=burst[3].pk, reason="测试")
    services.ticket_merge(actor=dispatcher, ticket_id=burst[2].pk, into_case_no=burst[0].case_no)
    hotspots_refresh()
    [issue] = HotIssue.objects.all()
    members = set(issue.members.values_list("ticket_id", flat=True))
    assert members == {burst[0].pk, burst[1].pk, burst[2].pk}


def test_one_click_merges_the_open_tickets_into_the_lead(
    burst: list[Ticket], cast: dict[str, Any]
) -> None:
    hotspots_refresh()
    panel = hot_issues_for_inbox(user=cast["dispatcher"])
    [item] = panel.issues
    assert item.lead.pk == burst[0].pk
    assert [m.pk for m in item.pending] == [t.pk for t in burst[1:]]
    picks = [(m.pk, m.version) for m in item.pending]
    result = hotspot_merge(actor=cast["dispatcher"], lead_id=item.lead.pk, picks=picks)
    assert [o.ok for o in result.items] == [True, True, True]
    for ticket in burst[1:]:
        ticket.refresh_from_db()
        assert ticket.state == State.MERGED
        assert ticket.duplicate_of_id == burst[0].pk
    # Nothing is left to gather: the panel no longer shows it.
    assert hot_issues_for_inbox(user=cast["dispatcher"]).issues == []


def test_a_ticket_that_changed_since_the_panel_was_shown_is_refused_alone(
    burst: list[Ticket], cast: dict[str, Any]
) -> None:
    hotspots_refresh()
    [item] = hot_issues_for_inbox(user=cast["dispatcher"]).issues
    picks = [(m.pk, m.version) for m in item.pending]
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=burst[2].pk)
    result = hotspot_link(actor=cast["dispatcher"], lead_id=item.lead.pk, picks=picks)
    outcome = {o.case_no: o for o in result.items}
    assert outcome[burst[1].case_no].ok and outcome[burst[3].case_no].ok
    assert not outcome[burst[2].case_no].ok
    assert "已被他人修改" in outcome[burst[2].case_no].message
    assert not CaseLink.objects.filter(ticket=burst[2]).exists()


def test_linking_keeps_each_ticket_open_and_records_it_on_both_timelines(
    burst: list[Ticket], cast: dict[str, Any]
) -> None:
    lead, child = burst[0], burst[1]
    ticket_link_lead(actor=cast["dispatcher"], ticket_id=child.pk, lead_case_no=lead.case_no)
    child.refresh_from_db()
    assert child.state == State.NEW
    assert CaseLink.objects.get(ticket=child).lead_id == lead.pk
    assert TicketEvent.objects.get(ticket=child, kind="link_lead").payload["lead"] == lead.case_no
    assert TicketEvent.objects.get(ticket=lead, kind="lead_of").payload["case"] == child.case_no
    links = ticket_links(ticket=lead, user=cast["dispatcher"])
    assert [t.pk for t in links.linked] == [child.pk]
    assert ticket_links(ticket=child, user=cast["dispatcher"]).lead == lead


def test_links_are_one_level_deep(burst: list[Ticket], cast: dict[str, Any]) -> None:
    dispatcher = cast["dispatcher"]
    a, b, c = burst[0], burst[1], burst[2]
    ticket_link_lead(actor=dispatcher, ticket_id=b.pk, lead_case_no=a.case_no)
    with pytest.raises(InvalidInput, match=f"已关联到主案 {a.case_no}"):
        ticket_link_lead(actor=dispatcher, ticket_id=c.pk, lead_case_no=b.case_no)
    with pytest.raises(InvalidInput, match="本身是主案"):
        ticket_link_lead(actor=dispatcher, ticket_id=a.pk, lead_case_no=c.case_no)
    with pytest.raises(InvalidInput, match="已关联到主案"):
        ticket_link_lead(actor=dispatcher, ticket_id=b.pk, lead_case_no=c.case_no)
    with pytest.raises(InvalidInput, match="另一件工单"):
        ticket_link_lead(actor=dispatcher, ticket_id=c.pk, lead_case_no=c.case_no)
    with pytest.raises(InvalidInput, match="另一件工单"):
        ticket_link_lead(actor=dispatcher, ticket_id=c.pk, lead_case_no="20990101000001")


def test_only_open_tickets_are_linked_and_only_to_a_live_lead(
    burst: list[Ticket], cast: dict[str, Any]
) -> None:
    dispatcher = cast["dispatcher"]
    services.ticket_mark_invalid(actor=dispatcher, ticket_id=burst[3].pk, reason="测试")
    with pytest.raises(ConflictError, match="只有办理中的工单"):
        ticket_link_lead(actor=dispatcher, ticket_id=burst[3].pk, lead_case_no=burst[0].case_no)
    with pytest.raises(InvalidInput, match="不能作为主案"):
        ticket_link_lead(actor=dispatcher, ticket_id=burst[1].pk, lead_case_no=burst[3].case_no)


def test_who_may_link(burst: list[Ticket], cast: dict[str, Any]) -> None:
    with pytest.raises(TicketNotFound):  # not in the handler's department: not even seen
        ticket_link_lead(
            actor=cast["handler_a"], ticket_id=burst[1].pk, lead_case_no=burst[0].case_no
        )
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=burst[1].pk)
    services.ticket_assign(
        actor=cast["dispatcher"],
        ticket_id=burst[1].pk,
        department_id=cast["handler_a"].staff_profile.department_id,
    )
    with pytest.raises((ActionForbidden, TicketNotFound)):
        ticket_link_lead(
            actor=cast["handler_a"], ticket_id=burst[1].pk, lead_case_no=burst[0].case_no
        )
    assert not CaseLink.objects.exists()


def test_unlinking(burst: list[Ticket], cast: dict[str, Any]) -> None:
    dispatcher = cast["dispatcher"]
    ticket_link_lead(actor=dispatcher, ticket_id=burst[1].pk, lead_case_no=burst[0].case_no)
    ticket_unlink_lead(actor=dispatcher, ticket_id=burst[1].pk)
    assert not CaseLink.objects.exists()
    assert TicketEvent.objects.filter(ticket=burst[0], kind="lead_of_removed").count() == 1
    with pytest.raises(InvalidInput, match="没有关联主案"):
        ticket_unlink_lead(actor=dispatcher, ticket_id=burst[1].pk)


def test_a_linked_ticket_stays_with_its_lead_in_the_next_snapshot(
    burst: list[Ticket], make_ticket: Any, cast: dict[str, Any]
) -> None:
    # A report the text model would not put with the others: the dispatcher knows better.
    odd = make_ticket("3栋门口又冒水了，整条路是湿的", address="和平街道幸福小区")
    ticket_link_lead(actor=cast["dispatcher"], ticket_id=odd.pk, lead_case_no=burst[0].case_no)
    hotspots_refresh()
    [issue] = HotIssue.objects.all()
    assert odd.pk in set(issue.members.values_list("ticket_id", flat=True))


def test_the_panel_is_for_those_who_may_merge(burst: list[Ticket], cast: dict[str, Any]) -> None:
    hotspots_refresh()
    assert len(hot_issues_for_inbox(user=cast["dispatcher"]).issues) == 1
    handler_panel = hot_issues_for_inbox(user=cast["handler_a"])
    assert not handler_panel.may_act and handler_panel.issues == []


def test_the_weeks_top_issues_are_counted_within_the_viewers_departments(
    burst: list[Ticket], cast: dict[str, Any], departments: dict[str, Any]
) -> None:
    hotspots_refresh()
    run, city = hot_issues_of_week(departments=None)
    assert run is not None
    [top] = city
    assert (top.reports, top.open, top.area) == (4, 4, "和平街道幸福小区")
    assert top.lead_case_no == burst[0].case_no
    _run, bureau = hot_issues_of_week(departments={departments["b"].pk})
    assert bureau == []  # none of these tickets is in that bureau


def test_the_job_runs_through_celery_and_the_embedded_list(burst: list[Ticket]) -> None:
    from config.celery import app, run_job
    from config.jobs import JOBS

    assert "hotspots" in {job.name for job in JOBS}
    assert app.conf.beat_schedule["hotspots"]["args"] == ("hotspots",)
    summary = run_job.apply(args=("hotspots",)).get()
    assert "1 个热点" in summary
    assert HotIssue.objects.count() == 1


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_linking_two_tickets_under_each_other_at_once_never_deadlocks(
    make_ticket: Any, cast: dict[str, Any]
) -> None:
    a = make_ticket(PIPE[0])
    b = make_ticket(PIPE[1])
    dispatcher = cast["dispatcher"]

    def link(child: Ticket, lead: Ticket) -> Any:
        def run() -> str:
            try:
                ticket_link_lead(actor=dispatcher, ticket_id=child.pk, lead_case_no=lead.case_no)
                return "linked"
            except InvalidInput as error:
                return error.message

        return run

    results = run_together(link(a, b), link(b, a))
    assert results.count("linked") == 1
    assert CaseLink.objects.count() == 1


def test_the_commands_say_what_they_did(burst: list[Ticket]) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("hotspots_refresh", stdout=out)
    assert "1 个热点" in out.getvalue()
    out = io.StringIO()
    call_command("routing_train", stdout=out)
    assert "历史工单不足" in out.getvalue()
    out = io.StringIO()
    call_command("routing_train", stdout=out)
    assert "已存在" in out.getvalue()


@requires_postgres
@pytest.mark.postgres
def test_the_bench_data_reset_clears_the_snapshot_that_points_at_bench_tickets(
    cast: dict[str, Any],
) -> None:
    from django.core.management import call_command
    from django.db import connection

    from tickets.management.commands.bench_data import bench_reset

    call_command("bench_data", tickets=400, month_tickets=10, departments=3, due=0, verbosity=0)
    hotspots_refresh()
    assert HotIssue.objects.filter(lead__case_no__startswith="BN").exists()
    bench = Ticket.objects.filter(case_no__startswith="BN").order_by("pk")
    ticket_link_lead(actor=cast["dispatcher"], ticket_id=bench[1].pk, lead_case_no=bench[0].case_no)
    with connection.cursor() as cursor:
        # Check the foreign keys now, as the commit would, not at the test's rollback.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        bench_reset()
    assert not Ticket.objects.filter(case_no__startswith="BN").exists()
    assert not CaseLink.objects.exists()
