"""Public records: created by a reply, redacted, reviewed, never changing the ticket itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from tests.conftest import walk
from tickets import publication, services
from tickets.errors import InvalidInput, TicketNotFound
from tickets.models import Ticket, TicketEvent
from tickets.models_public import Open311ApiKey, PublicRecord, api_key_hash

pytestmark = pytest.mark.django_db
Status = PublicRecord.Status

PERSONAL = "我是刘小红，电话13812345678，住幸福小区3栋2单元501室，楼道灯坏了一个月。"


def replied(make_ticket: Any, cast: dict, departments: dict, text: str, **fields: Any) -> Ticket:
    return walk(make_ticket(text, **fields), cast, departments, "replied")


def test_it_creates_a_pending_redacted_record_when_a_ticket_is_replied(
    make_ticket: Any, cast: dict, departments: dict, categories: dict
) -> None:
    ticket = replied(
        make_ticket, cast, departments, PERSONAL, sender_name="刘小红", category_code="lights"
    )
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.status == Status.PENDING
    assert record.content == "我是[姓名]，电话[电话]，住幸福小区[地址]，楼道灯坏了一个月。"
    assert record.reply == "已安排维修，路灯已恢复。"
    assert record.masks == {"name": 1, "phone": 1, "address": 1}
    assert "13812345678" not in record.title and "刘小红" not in record.title
    assert record.category == categories["lights"]
    assert record.department == departments["a"]
    assert record.channel == "website"
    assert record.replied_at == ticket.first_replied_at
    assert record.on_time is True
    assert len(record.public_id) >= 12 and ticket.case_no not in record.public_id
    ticket.refresh_from_db()
    assert ticket.content == PERSONAL  # the original is never changed


def test_it_auto_publishes_a_record_with_nothing_to_mask(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, "建设路路灯坏了一个多星期，请尽快维修。")
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.status == Status.PUBLISHED
    assert record.auto_published and record.published_at is not None


@override_settings(PUBLIC_AUTO_PUBLISH=False)
def test_it_waits_for_review_when_auto_publish_is_off(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, "建设路路灯坏了一个多星期，请尽快维修。")
    assert PublicRecord.objects.get(ticket=ticket).status == Status.PENDING


def test_it_reads_the_auto_publish_switch_from_the_settings(settings: Any) -> None:
    settings.PUBLIC_AUTO_PUBLISH = False
    assert not publication.auto_publish_enabled()
    settings.PUBLIC_AUTO_PUBLISH = True
    assert publication.auto_publish_enabled()


def test_it_publishes_only_facts_for_a_confidential_case(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL, confidential=True)
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.confidential
    assert (record.title, record.content, record.reply, record.address) == ("", "", "", "")
    assert record.department == departments["a"] and record.replied_at is not None


def test_it_takes_the_title_from_the_redacted_content(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    # The automatic title is cut at 30 characters, in the middle of the phone number.
    text = "楼下的餐馆油烟直排，家里窗户都不敢开，请联系我电话13812345678，谢谢"
    ticket = replied(make_ticket, cast, departments, text)
    assert "1381" in ticket.title
    record = PublicRecord.objects.get(ticket=ticket)
    assert "1381" not in record.title
    assert record.title.startswith("楼下的餐馆油烟直排")


def test_it_masks_the_names_of_staff_in_the_reply(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    cast["handler_a"].first_name, cast["handler_a"].last_name = "志强", "马"
    cast["handler_a"].save()
    ticket = walk(make_ticket("建设路路灯坏了很久了。"), cast, departments, "in_progress")
    services.ticket_reply(
        actor=cast["handler_a"], ticket_id=ticket.pk, content="经办人马志强已到现场修复。"
    )
    assert PublicRecord.objects.get(ticket=ticket).reply == "经办人[姓名]已到现场修复。"


def test_it_lets_a_supervisor_edit_and_approve(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL, sender_name="刘小红")
    record = PublicRecord.objects.get(ticket=ticket)
    record = publication.public_record_review(
        actor=cast["supervisor_a"],
        record_id=record.pk,
        action="approve",
        content="[姓名]反映：楼道灯坏了一个月。",
    )
    assert record.status == Status.PUBLISHED and record.edited
    assert record.reviewed_by == cast["supervisor_a"] and record.published_at is not None
    assert record.content == "[姓名]反映：楼道灯坏了一个月。"
    event = TicketEvent.objects.filter(ticket=ticket, kind="public_review").get()
    assert event.payload["action"] == "approve" and event.actor == cast["supervisor_a"]
    ticket.refresh_from_db()
    assert ticket.content == PERSONAL


def test_a_reviewed_record_is_never_auto_published_again(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL, sender_name="刘小红")
    record = PublicRecord.objects.get(ticket=ticket)
    publication.public_record_review(
        actor=cast["supervisor_a"],
        record_id=record.pk,
        action="approve",
        content="[姓名]反映：楼道灯坏了一个月。",
    )
    services.ticket_reopen(actor=cast["dispatcher"], ticket_id=ticket.pk, reason="市民不满意")
    # Nothing to mask in the new reply, but a person reviewed this case: a person decides again.
    services.ticket_reply(actor=cast["handler_a"], ticket_id=ticket.pk, content="已再次维修。")
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.status == Status.PENDING and not record.auto_published


def test_it_requires_a_reason_to_withhold(make_ticket: Any, cast: dict, departments: dict) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL)
    record = PublicRecord.objects.get(ticket=ticket)
    with pytest.raises(InvalidInput):
        publication.public_record_review(
            actor=cast["dispatcher"], record_id=record.pk, action="withhold"
        )
    record = publication.public_record_review(
        actor=cast["dispatcher"], record_id=record.pk, action="withhold", reason="涉及未成年人"
    )
    assert record.status == Status.WITHHELD and record.review_note == "涉及未成年人"


def test_it_keeps_other_departments_and_handlers_out_of_review(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL)
    record = PublicRecord.objects.get(ticket=ticket)
    for user in ("supervisor_b", "handler_a", "leadership", "outsider"):
        with pytest.raises(TicketNotFound):
            publication.public_record_review(
                actor=cast[user], record_id=record.pk, action="approve"
            )
    assert PublicRecord.objects.get(pk=record.pk).status == Status.PENDING
    assert list(publication.public_records_for_review(user=cast["supervisor_a"])) == [record]
    assert list(publication.public_records_for_review(user=cast["supervisor_b"])) == []


def test_it_asks_again_after_a_new_reply_but_keeps_a_withheld_case_withheld(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    first = replied(make_ticket, cast, departments, "建设路路灯坏了一个多星期。")
    assert PublicRecord.objects.get(ticket=first).status == Status.PUBLISHED
    services.ticket_reopen(actor=cast["dispatcher"], ticket_id=first.pk, reason="市民不满意")
    services.ticket_reply(
        actor=cast["handler_a"], ticket_id=first.pk, content="已再次维修，联系人王先生。"
    )
    record = PublicRecord.objects.get(ticket=first)
    assert record.status == Status.PENDING and record.reply == "已再次维修，联系人[姓名]。"

    second = replied(make_ticket, cast, departments, PERSONAL)
    record = PublicRecord.objects.get(ticket=second)
    publication.public_record_review(
        actor=cast["admin"], record_id=record.pk, action="withhold", reason="隐私"
    )
    services.ticket_reopen(actor=cast["dispatcher"], ticket_id=second.pk, reason="市民不满意")
    services.ticket_reply(actor=cast["handler_a"], ticket_id=second.pk, content="已处理。")
    assert PublicRecord.objects.get(ticket=second).status == Status.WITHHELD


def test_it_keeps_the_reply_when_publication_fails(
    make_ticket: Any, cast: dict, departments: dict, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("redaction exploded")

    monkeypatch.setattr(publication, "public_record_refresh", broken)
    ticket = replied(make_ticket, cast, departments, PERSONAL)
    assert ticket.state == "replied"
    assert not PublicRecord.objects.filter(ticket=ticket).exists()


def test_it_shows_original_and_redacted_side_by_side(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL, sender_name="刘小红")
    record = PublicRecord.objects.get(ticket=ticket)
    client = Client()
    client.force_login(cast["supervisor_a"])
    page = client.get(f"/public/review/{record.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<mark class="masked" data-kind="phone" title="电话">13812345678</mark>' in html
    assert '<mark class="mask">[电话]</mark>' in html
    assert ticket.case_no in client.get("/public/review/").content.decode()

    refused = client.post(f"/public/review/{record.pk}/", {"action": "withhold", "reason": ""})
    assert refused.status_code == 400 and "必须填写理由" in refused.content.decode()
    approved = client.post(
        f"/public/review/{record.pk}/",
        {
            "action": "approve",
            "title": record.title,
            "content": record.content,
            "reply": "已修复。",
        },
    )
    assert approved.status_code == 302
    record.refresh_from_db()
    assert record.status == Status.PUBLISHED and record.reply == "已修复。"


def test_it_refuses_the_review_page_to_other_departments(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL)
    record = PublicRecord.objects.get(ticket=ticket)
    client = Client()
    client.force_login(cast["supervisor_b"])
    assert client.get(f"/public/review/{record.pk}/").status_code == 404
    client.force_login(cast["handler_a"])
    assert client.get("/public/review/").status_code == 404
    assert Client().get("/public/review/").status_code == 302  # to the login page


def test_it_shows_a_new_api_key_once_in_the_admin(cast: dict) -> None:
    client = Client()
    client.force_login(cast["admin"])
    response = client.post(
        "/admin/tickets/open311apikey/add/", {"name": "街道App", "active": "on"}, follow=True
    )
    assert response.status_code == 200
    key = Open311ApiKey.objects.get(name="街道App")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m.split("：", 1)[1] for m in shown if "只显示这一次" in m)
    assert key.key_hash == api_key_hash(raw) and raw not in key.key_hash
    assert Open311ApiKey.find_active(raw) == key
    page = client.get(f"/admin/tickets/open311apikey/{key.pk}/change/").content.decode()
    assert raw not in page and key.prefix in page


def test_it_lets_the_admin_withhold_with_a_reason(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, PERSONAL)
    record = PublicRecord.objects.get(ticket=ticket)
    client = Client()
    client.force_login(cast["admin"])
    url = f"/admin/tickets/publicrecord/{record.pk}/change/"
    form = {
        "status": "withheld",
        "title": record.title,
        "content": record.content,
        "reply": record.reply,
        "address": record.address,
        "review_note": "",
    }
    assert "不予公开必须填写理由" in client.post(url, form).content.decode()
    client.post(url, {**form, "review_note": "涉及第三方隐私"})
    record.refresh_from_db()
    assert record.status == Status.WITHHELD and record.reviewed_by == cast["admin"]
