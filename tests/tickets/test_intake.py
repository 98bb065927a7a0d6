"""One intake path for every channel: new tickets, case numbers, follow-ups, status queries,
messages that open nothing, and 12345 work orders."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from tests.conftest import walk
from tickets import services
from tickets.models import CitizenIdentity, Department, State, Ticket, TicketEvent

CHINA = dt.timezone(dt.timedelta(hours=8))


def at(*args: int, tz: dt.tzinfo = CHINA) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def eod(year: int, month: int, day: int) -> dt.datetime:
    return at(year, month, day, 23, 59, 59)


def wechat(text: str, sender: str = "o-citizen-1", **fields: Any) -> services.IncomingMessage:
    return services.IncomingMessage(
        channel="wechat",
        sender_kind=CitizenIdentity.Kind.WECHAT_OPENID,
        account="gh_minsheng",
        sender_id=sender,
        text=text,
        **fields,
    )


def hotline(text: str, **fields: Any) -> services.IncomingMessage:
    return services.IncomingMessage(
        channel="hotline",
        sender_kind=CitizenIdentity.Kind.HOTLINE_CALLER,
        sender_id=fields.pop("sender_id", "13900000000"),
        text=text,
        acknowledged=True,
        may_follow_up=False,
        **fields,
    )


def take(message: services.IncomingMessage) -> services.IntakeResult:
    return services.intake_message(message=message)


# --- a new ticket -----------------------------------------------------------------------------


def test_a_new_message_opens_a_ticket(db: Any) -> None:
    with time_machine.travel(at(2026, 11, 16, 10, 0), tick=False):
        result = take(wechat("建设路路灯坏了一个多星期，晚上很黑。"))
    assert result.action == "created"
    ticket = result.ticket
    assert ticket is not None
    ticket.refresh_from_db()
    assert (ticket.state, ticket.channel, ticket.channel_account) == (
        "new",
        "wechat",
        "gh_minsheng",
    )
    assert ticket.received_at == at(2026, 11, 16, 10, 0)
    assert ticket.title == "建设路路灯坏了一个多星期，晚上很黑。"
    assert ticket.citizen is not None
    assert ticket.citizen.identities.get().value == "o-citizen-1"
    assert ticket.case_no in result.reply and result.lookup_url.endswith(ticket.case_no)
    event = ticket.events.get()
    assert (event.kind, event.from_state, event.to_state) == ("created", "", "new")
    assert event.payload["channel"] == "wechat"


def test_the_case_number_is_the_shanghai_receipt_date_and_six_digits(db: Any) -> None:
    # 16:30 UTC on 05-11 is 00:30 on 05-12 in Shanghai.
    with time_machine.travel(at(2026, 5, 11, 16, 30, tz=dt.UTC), tick=False):
        ticket = take(wechat("小区门口积水")).ticket
    assert ticket is not None
    assert re.fullmatch(r"20260512\d{6}", ticket.case_no)
    assert ticket.case_no == "20260512000001"


def test_the_sequence_counts_up_within_a_day_and_restarts_the_next(db: Any) -> None:
    numbers = []
    for when, sender in [
        (at(2026, 11, 16, 0, 0, 1), "a"),
        (at(2026, 11, 16, 12, 0), "b"),
        (at(2026, 11, 16, 23, 59, 59), "c"),
        (at(2026, 11, 17, 0, 0), "d"),
        (at(2026, 11, 17, 8, 0), "e"),
    ]:
        with time_machine.travel(when, tick=False):
            ticket = take(wechat("路灯不亮", sender=sender)).ticket
        assert ticket is not None
        numbers.append(ticket.case_no)
    assert numbers == [
        "20261116000001",
        "20261116000002",
        "20261116000003",
        "20261117000001",
        "20261117000002",
    ]


def test_a_work_order_is_numbered_by_its_own_receipt_time(db: Any) -> None:
    with time_machine.travel(at(2026, 11, 17, 0, 10), tick=False):
        ticket = take(hotline("噪音扰民", received_at=at(2026, 11, 16, 23, 40))).ticket
    assert ticket is not None
    assert ticket.case_no.startswith("20261116")
    assert ticket.ack_due_at == at(2026, 11, 17, 0, 10)


def test_four_byte_characters_survive_exactly(db: Any) -> None:
    text = "路灯坏了😡🔦，𠀋𡈽字也要保存。第二行👍"
    ticket = take(wechat(text)).ticket
    assert ticket is not None
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.content == text
    assert stored.title == text
    assert stored.events.get().ticket_id == ticket.pk


def test_a_long_first_line_makes_a_shortened_title(db: Any) -> None:
    text = "路" * 40 + "\n第二行"
    ticket = take(wechat(text)).ticket
    assert ticket is not None
    assert ticket.title == "路" * 30 + "…"
    assert ticket.content == text


# --- follow-ups -------------------------------------------------------------------------------


def test_a_follow_up_joins_the_citizens_new_ticket(db: Any) -> None:
    first = take(wechat("路灯不亮")).ticket
    assert first is not None
    result = take(wechat("补充：在建设路12号门口"))
    assert result.action == "follow_up"
    assert result.ticket is not None and result.ticket.pk == first.pk
    assert first.case_no in result.reply
    assert Ticket.objects.count() == 1
    kinds = list(first.events.order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "citizen_message"]
    event = first.events.get(kind="citizen_message")
    assert event.payload["text"] == "补充：在建设路12号门口"
    assert event.actor is None and event.actor_label == "市民"
    first.refresh_from_db()
    assert first.state == "new" and first.version == 1


def test_a_follow_up_with_a_location_fills_the_tickets_location(db: Any) -> None:
    first = take(wechat("路灯不亮")).ticket
    assert first is not None
    result = take(
        wechat(
            "",
            latitude=Decimal("30.123456"),
            longitude=Decimal("114.654321"),
            address="建设路12号",
            may_open=False,
        )
    )
    assert result.action == "follow_up"
    first.refresh_from_db()
    assert (first.latitude, first.longitude) == (Decimal("30.123456"), Decimal("114.654321"))
    assert first.address == "建设路12号"


def test_a_follow_up_from_another_channel_does_not_join(db: Any) -> None:
    take(wechat("路灯不亮"))
    other = services.IncomingMessage(
        channel="weibo",
        sender_kind=CitizenIdentity.Kind.WEIBO_UID,
        sender_id="o-citizen-1",
        text="路灯不亮",
    )
    assert take(other).action == "created"
    assert Ticket.objects.count() == 2


def test_a_follow_up_joins_and_resumes_a_ticket_waiting_for_the_citizen(
    cast: dict[str, Any], departments: dict[str, Department]
) -> None:
    with time_machine.travel(at(2026, 11, 16, 10, 0), tick=False):
        ticket = take(wechat("路灯不亮", request_type="complaint")).ticket
        assert ticket is not None
        walk(ticket, cast, departments, "in_progress")
    ticket.refresh_from_db()
    assert ticket.resolve_due_at == eod(2026, 12, 7)
    with time_machine.travel(at(2026, 11, 20, 10, 0), tick=False):  # Friday
        services.ticket_request_info(
            actor=cast["handler_a"], ticket_id=ticket.pk, question="请提供具体位置"
        )
    with time_machine.travel(at(2026, 11, 24, 9, 0), tick=False):  # Tuesday
        result = take(wechat("在建设路12号门口"))
    assert result.action == "follow_up"
    assert result.ticket is not None and result.ticket.pk == ticket.pk
    assert "恢复办理" in result.reply
    ticket.refresh_from_db()
    assert ticket.state == "in_progress"
    assert ticket.paused_at is None
    # Monday 11-23 and Tuesday 11-24 were lost.
    assert ticket.resolve_due_at == eod(2026, 12, 9)
    assert Ticket.objects.count() == 1
    kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == ["citizen_message", "resume"]
    resume = ticket.events.get(kind="resume")
    assert (resume.from_state, resume.to_state, resume.actor) == (
        "waiting_citizen",
        "in_progress",
        None,
    )
    assert resume.payload["working_days_lost"] == 2


def test_after_acknowledge_a_new_message_opens_a_new_ticket(cast: dict[str, Any]) -> None:
    first = take(wechat("路灯不亮")).ticket
    assert first is not None
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=first.pk)
    result = take(wechat("另外，小区门口积水"))
    assert result.action == "created"
    assert result.ticket is not None and result.ticket.pk != first.pk
    assert result.ticket.citizen_id == first.citizen_id
    assert not first.events.filter(kind="citizen_message").exists()


def test_work_orders_never_join_each_other(db: Any) -> None:
    first = take(hotline("噪音扰民", external_ref="GD-1")).ticket
    second = take(hotline("噪音扰民，再次反映", external_ref="GD-2")).ticket
    assert first is not None and second is not None
    assert first.pk != second.pk
    assert first.citizen_id == second.citizen_id


# --- status queries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", ["{case_no}", " {case_no} ", "进度 {case_no}", "进度：{case_no}"]
)
def test_a_status_query_tells_the_citizen_about_their_case(db: Any, template: str) -> None:
    with time_machine.travel(at(2026, 11, 16, 10, 0), tick=False):
        ticket = take(wechat("路灯不亮", request_type="consult")).ticket
    assert ticket is not None
    # The ticket is still new: a query must not be taken for a follow-up that joins it.
    events_before = TicketEvent.objects.count()
    result = take(wechat(template.format(case_no=ticket.case_no)))
    assert result.action == "status"
    assert result.ticket is not None and result.ticket.pk == ticket.pk
    assert ticket.case_no in result.reply
    assert str(State.NEW.label) in result.reply
    assert "2026-11-18" in result.reply
    assert Ticket.objects.count() == 1
    assert TicketEvent.objects.count() == events_before


def test_a_status_query_names_the_state_after_a_reply(
    cast: dict[str, Any], departments: dict[str, Department]
) -> None:
    ticket = take(wechat("路灯不亮")).ticket
    assert ticket is not None
    walk(ticket, cast, departments, "replied")
    result = take(wechat(f"进度 {ticket.case_no}"))
    assert result.action == "status"
    assert f"{ticket.case_no} 当前状态：已答复" in result.reply


@pytest.mark.parametrize("end", ["merged", "invalid"])
def test_a_status_query_promises_no_date_for_a_case_that_will_not_be_handled(
    cast: dict[str, Any], end: str
) -> None:
    ticket = take(wechat("路灯不亮")).ticket
    assert ticket is not None
    if end == "merged":
        other = take(wechat("同一盏路灯", sender="o-neighbour")).ticket
        assert other is not None
        services.ticket_merge(actor=cast["admin"], ticket_id=ticket.pk, into_case_no=other.case_no)
    else:
        services.ticket_mark_invalid(actor=cast["admin"], ticket_id=ticket.pk, reason="测试")
    result = take(wechat(ticket.case_no))
    assert result.action == "status"
    assert str(State(end).label) in result.reply
    assert "办结" not in result.reply


@pytest.mark.parametrize("template", ["{case_no}", "进度 {case_no}"])
def test_a_status_query_from_another_citizen_reveals_nothing(db: Any, template: str) -> None:
    ticket = take(wechat("路灯不亮", sender="o-owner")).ticket
    assert ticket is not None
    result = take(wechat(template.format(case_no=ticket.case_no), sender="o-stranger"))
    assert result.action == "status"
    assert result.ticket is None
    assert result.lookup_url == ""
    for label in State.labels:
        assert str(label) not in result.reply
    assert "路灯" not in result.reply
    assert Ticket.objects.count() == 1


def test_a_status_query_for_an_unknown_number_opens_nothing(db: Any) -> None:
    result = take(wechat("进度 20991231000001"))
    assert result.action == "status" and result.ticket is None
    assert "20991231000001" in result.reply
    assert Ticket.objects.count() == 0


# --- messages that open nothing ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t　"])
def test_an_empty_message_opens_nothing(db: Any, text: str) -> None:
    result = take(wechat(text))
    assert result.action == "ignored"
    assert result.ticket is None
    assert Ticket.objects.count() == 0


def test_a_location_alone_opens_nothing(db: Any) -> None:
    result = take(
        wechat(
            "建设路12号",
            latitude=Decimal("30.1"),
            longitude=Decimal("114.2"),
            address="建设路12号",
            may_open=False,
        )
    )
    assert result.action == "ignored"
    assert Ticket.objects.count() == 0


# --- 12345 work orders ------------------------------------------------------------------------


def test_a_work_order_arrives_acknowledged_and_on_time(db: Any) -> None:
    received = at(2026, 11, 16, 9, 0)
    with time_machine.travel(at(2026, 11, 16, 9, 50), tick=False):
        result = take(hotline("噪音扰民", received_at=received, external_ref="GD-1"))
    assert result.action == "created"
    ticket = result.ticket
    assert ticket is not None
    ticket.refresh_from_db()
    assert ticket.state == "acknowledged"
    assert ticket.ack_on_time is True
    assert ticket.acknowledged_at == received
    assert ticket.received_at == received
    assert ticket.external_ref == "GD-1"
    event = ticket.events.get()
    assert (event.kind, event.to_state) == ("created", "acknowledged")


def test_the_platforms_due_time_is_kept_and_the_difference_recorded(db: Any) -> None:
    platform_due = at(2026, 11, 20, 18, 0)
    with time_machine.travel(at(2026, 11, 16, 9, 0), tick=False):
        ticket = take(
            hotline("噪音扰民", request_type="complaint", resolve_due_at=platform_due)
        ).ticket
    assert ticket is not None
    ticket.refresh_from_db()
    assert ticket.resolve_due_at == platform_due
    assert ticket.calendar_confirmed is True
    payload = ticket.events.get(kind="created").payload
    assert dt.datetime.fromisoformat(payload["resolve_due_at"]) == platform_due
    # Our own rules would have given 15 working days: Monday 12-07.
    assert dt.datetime.fromisoformat(payload["our_resolve_due_at"]) == eod(2026, 12, 7)


def test_a_platform_due_time_equal_to_ours_records_no_difference(db: Any) -> None:
    with time_machine.travel(at(2026, 11, 16, 9, 0), tick=False):
        ticket = take(
            hotline("噪音扰民", request_type="complaint", resolve_due_at=eod(2026, 12, 7))
        ).ticket
    assert ticket is not None
    assert "our_resolve_due_at" not in ticket.events.get(kind="created").payload
