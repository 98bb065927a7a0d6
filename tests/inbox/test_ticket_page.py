"""The ticket page: what it shows, one form per action, conflicts that overwrite nothing."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from tests.conftest import walk
from tickets import services
from tickets.models import Attachment, ExtensionRequest, Reply, Ticket, TicketEvent
from tickets.services.extensions import ticket_extension_request


def page(client: Any, ticket: Ticket) -> str:
    response = client.get(f"/inbox/tickets/{ticket.case_no}/")
    assert response.status_code == 200
    return response.content.decode()


def post(client: Any, ticket: Ticket, action: str, **data: Any) -> Any:
    data.setdefault("expected_version", Ticket.objects.get(pk=ticket.pk).version)
    return client.post(f"/inbox/tickets/{ticket.case_no}/{action}/", data)


def actions_on(body: str) -> list[str]:
    return re.findall(r'data-action="(\w+)"', body)


def test_it_shows_the_message_attachments_timeline_and_deadlines(
    client_for: Any, make_ticket: Any, cast: dict[str, Any]
) -> None:
    ticket = make_ticket("南湖路口的井盖松动，车一过就响，很危险。", address="南湖路口")
    stored = Attachment(ticket=ticket, name="井盖.jpg", size=2048)
    stored.file.save("jinggai.jpg", ContentFile(b"\xff\xd8\xff\xe0" + b"0" * 2044), save=True)
    Attachment.objects.create(
        ticket=ticket, name="语音.amr", media_id="MEDIA123", download="pending"
    )
    services.ticket_add_note(actor=cast["dispatcher"], ticket_id=ticket.pk, text="已电话核实")
    body = page(client_for("dispatcher"), ticket)
    assert "南湖路口的井盖松动" in body and "地址：南湖路口" in body
    assert f'href="/attachments/{stored.pk}/"' in body and "井盖.jpg" in body
    assert "语音.amr" in body and "待下载" in body
    assert "收到诉求" in body and "内部备注" in body and "已电话核实" in body
    assert "受理时限" in body and "办结时限" in body
    assert timezone.localtime(ticket.resolve_due_at).strftime("%Y-%m-%d %H:%M") in body


def test_it_offers_only_the_actions_the_user_may_take_now(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = make_ticket()
    dispatcher = actions_on(page(client_for("dispatcher"), ticket))
    assert dispatcher[0] == "acknowledge"
    assert (
        "merge_into" in dispatcher and "mark_invalid" in dispatcher and "accept" not in dispatcher
    )
    walk(ticket, cast, departments, "assigned")
    handler = actions_on(page(client_for("handler_a"), ticket))
    assert handler[:1] == ["accept"] and "return_to_dispatch" in handler
    assert "acknowledge" not in handler and "assign" not in handler
    services.ticket_accept(actor=cast["handler_a"], ticket_id=ticket.pk)
    handler = actions_on(page(client_for("handler_a"), ticket))
    for action in ("reply", "request_info", "transfer", "request_extension", "note"):
        assert action in handler
    assert client_for("handler_b").get(f"/inbox/tickets/{ticket.case_no}/").status_code == 404


def test_it_works_a_case_from_arrival_to_reply(
    client_for: Any, make_ticket: Any, departments: Any, cast: dict[str, Any]
) -> None:
    ticket = make_ticket()
    dispatcher, handler = client_for("dispatcher"), client_for("handler_a")
    response = post(dispatcher, ticket, "acknowledge")
    assert response.status_code == 302
    assert response["Location"] == f"/inbox/tickets/{ticket.case_no}/"
    assert "已受理" in page(dispatcher, ticket)
    post(
        dispatcher, ticket, "assign", department=departments["a"].pk, assignee=cast["handler_a"].pk
    )
    post(handler, ticket, "accept")
    response = post(handler, ticket, "reply", content="路灯已修复，感谢反映。")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == "replied" and ticket.assignee == cast["handler_a"]
    assert Reply.objects.get(ticket=ticket).content == "路灯已修复，感谢反映。"
    assert list(ticket.events.values_list("kind", flat=True)) == [
        "created",
        "acknowledge",
        "assign",
        "accept",
        "reply",
    ]


def test_it_keeps_what_was_typed_and_shows_what_changed_on_a_conflict(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    seen_version = ticket.version
    seen_event = ticket.events.order_by("-id").first().pk
    services.ticket_request_info(
        actor=cast["supervisor_a"], ticket_id=ticket.pk, question="请补充具体门牌号"
    )
    response = post(
        client_for("handler_a"),
        ticket,
        "reply",
        content="我的答复草稿：已安排维修。",
        expected_version=seen_version,
        seen_event=seen_event,
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "操作未保存：工单已被他人修改" in body
    assert "当前状态为「待补充」" in body and "supervisor_a" in body
    assert "要求补充" in body and "请补充具体门牌号" in body  # what changed
    assert "我的答复草稿：已安排维修。" in body  # what the user typed, kept
    assert not Reply.objects.filter(ticket=ticket).exists()
    assert Ticket.objects.get(pk=ticket.pk).state == "waiting_citizen"


def test_it_rearms_the_form_so_a_second_submit_is_a_deliberate_decision(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    old = ticket.version
    services.ticket_add_note(actor=cast["supervisor_a"], ticket_id=ticket.pk, text="注意措辞")
    client = client_for("handler_a")
    body = post(client, ticket, "reply", content="答复内容", expected_version=old).content.decode()
    current = Ticket.objects.get(pk=ticket.pk).version
    assert re.search(rf'name="expected_version" value="{current}"', body)
    assert "答复内容</textarea>" in body
    assert post(client, ticket, "reply", content="答复内容").status_code == 302


def test_it_explains_missing_input_in_chinese_and_changes_nothing(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "assigned")
    response = post(client_for("handler_a"), ticket, "return_to_dispatch", reason="  ")
    assert response.status_code == 400
    assert "请填写" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).state == "assigned"


def test_it_refuses_an_action_the_role_may_not_take(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "assigned")
    response = post(client_for("leadership"), ticket, "accept")
    assert response.status_code == 403
    assert "您的角色不能对工单执行「签收」" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).state == "assigned"


def test_it_offers_reply_templates_for_the_category(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any, categories: Any
) -> None:
    ticket = walk(make_ticket(category_code="lights"), cast, departments, "in_progress")
    body = page(client_for("handler_a"), ticket)
    assert "路灯已修复" in body and f"您反映的路灯故障（编号 {ticket.case_no}）" in body
    assert "解释说明" in body  # the general ones too


def test_it_requests_and_approves_an_extension_with_the_deadline_history(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    before = timezone.localtime(ticket.resolve_due_at)
    response = post(client_for("handler_a"), ticket, "request_extension", days=3, reason="需协调")
    assert response.status_code == 302
    request = ExtensionRequest.objects.get(ticket=ticket)
    supervisor = client_for("supervisor_a")
    body = page(supervisor, ticket)
    assert "decide_extension" in actions_on(body) and "需协调" in body
    response = post(
        supervisor, ticket, "decide_extension", request_id=request.pk, decision="approve"
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "approved"
    body = page(supervisor, ticket)
    assert "时限变化" in body and "批准延期" in body
    assert before.strftime("%m-%d %H:%M") + " → " in body


def test_it_refuses_a_stale_extension_decision(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    request = ticket_extension_request(
        actor=cast["handler_a"], ticket_id=ticket.pk, days=2, reason="需协调"
    )
    old = Ticket.objects.get(pk=ticket.pk).version
    services.ticket_add_note(actor=cast["handler_a"], ticket_id=ticket.pk, text="补充说明")
    response = post(
        client_for("supervisor_a"),
        ticket,
        "decide_extension",
        request_id=request.pk,
        decision="reject",
        note="不同意",
        expected_version=old,
    )
    assert response.status_code == 409
    assert ExtensionRequest.objects.get(pk=request.pk).status == "pending"


def test_it_adds_an_internal_note_and_marks_invalid_with_a_reason(
    client_for: Any, make_ticket: Any
) -> None:
    ticket = make_ticket()
    client = client_for("dispatcher")
    assert post(client, ticket, "note", text="疑似广告").status_code == 302
    assert post(client, ticket, "mark_invalid", reason="广告信息").status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).state == "invalid"
    assert TicketEvent.objects.filter(ticket=ticket, kind="mark_invalid").get().payload == {
        "reason": "广告信息"
    }


def test_it_sends_a_handler_back_to_the_queue_after_transferring_the_case_away(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    response = post(
        client_for("handler_a"), ticket, "transfer", department=departments["b"].pk, reason="属住建"
    )
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    assert Ticket.objects.get(pk=ticket.pk).department_id == departments["b"].pk


def test_it_answers_404_for_an_unknown_action(client_for: Any, make_ticket: Any) -> None:
    ticket = make_ticket()
    assert post(client_for("dispatcher"), ticket, "explode").status_code == 404
