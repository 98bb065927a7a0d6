"""Issue 17: nothing private goes public, whoever clicks. A copy that still has a span looking
like a number, an ID or a handle is never auto-published, is flagged on the review page, and
is approved only after a second confirmation of exactly those spans (review page and admin);
the inbox links the review queue, with its count, for the roles that review."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.conftest import walk
from tickets import publication
from tickets.errors import ConfirmationRequired
from tickets.models import Ticket, TicketEvent
from tickets.models_public import PublicRecord

pytestmark = pytest.mark.django_db
Status = PublicRecord.Status

# The issue's case: a number typed as an ID card (wrong check digit) and a WeChat ID.
ISSUE = "身份证号420102199003071233，微信wjg_1988，楼道灯坏了一个月。"
# The same data without the words that name it: no rule masks it, the reviewer must look.
# (On a second line, so the title cut from the first line has none of it.)
UNNAMED = "楼道灯坏了一个月。\n我的证号420102199003071233，加我 wjg_1988 发照片。"


def replied(make_ticket: Any, cast: dict, departments: dict, text: str, **fields: Any) -> Ticket:
    return walk(make_ticket(text, **fields), cast, departments, "replied")


def record_for(ticket: Ticket) -> PublicRecord:
    return PublicRecord.objects.get(ticket=ticket)


def test_it_masks_the_mistyped_id_and_the_wechat_id_of_the_issue(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, ISSUE))
    assert record.content == "身份证号[身份证号]，微信[微信号]，楼道灯坏了一个月。"
    assert record.masks == {"id_card": 1, "wechat": 1}
    assert publication.public_record_suspects(record) == []


def test_it_never_auto_publishes_a_copy_with_a_suspect_span(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, UNNAMED))
    assert record.masks == {}  # no rule saw personal data ...
    assert record.status == Status.PENDING and not record.auto_published  # ... yet it waits
    found = publication.public_record_suspects(record)
    assert [(field, suspect.text) for field, suspect in found] == [
        ("content", "420102199003071233"),
        ("content", "wjg_1988"),
    ]


def test_it_refuses_to_approve_a_suspect_copy_until_confirmed(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, UNNAMED)
    record = record_for(ticket)
    with pytest.raises(ConfirmationRequired) as refused:
        publication.public_record_review(
            actor=cast["supervisor_a"], record_id=record.pk, action="approve"
        )
    assert "2 处疑似个人信息" in refused.value.message
    assert [item["text"] for item in refused.value.items] == ["420102199003071233", "wjg_1988"]
    assert record_for(ticket).status == Status.PENDING
    assert not TicketEvent.objects.filter(ticket=ticket, kind="public_review").exists()

    with pytest.raises(ConfirmationRequired):
        publication.public_record_review(
            actor=cast["supervisor_a"], record_id=record.pk, action="approve", confirm="yes"
        )
    record = publication.public_record_review(
        actor=cast["supervisor_a"],
        record_id=record.pk,
        action="approve",
        confirm=refused.value.token,
    )
    assert record.status == Status.PUBLISHED and record.published_at is not None
    event = TicketEvent.objects.get(ticket=ticket, kind="public_review")
    assert event.payload["suspects_confirmed"] == 2
    assert "420102199003071233" not in str(event.payload)


def test_a_confirmation_covers_only_the_spans_it_was_given_for(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, UNNAMED))
    with pytest.raises(ConfirmationRequired) as refused:
        publication.public_record_review(
            actor=cast["dispatcher"], record_id=record.pk, action="approve"
        )
    # The reviewer types a phone number into the reply after confirming the first two spans.
    with pytest.raises(ConfirmationRequired) as again:
        publication.public_record_review(
            actor=cast["dispatcher"],
            record_id=record.pk,
            action="approve",
            reply="已修复，有问题请打 139 0000 1111。",
            confirm=refused.value.token,
        )
    assert [item["text"] for item in again.value.items][-1] == "139 0000 1111"
    assert record_for(record.ticket).status == Status.PENDING
    assert record_for(record.ticket).reply == "已安排维修，路灯已恢复。"  # nothing written


def test_it_approves_in_one_step_once_the_reviewer_masks_the_spans(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, UNNAMED))
    record = publication.public_record_review(
        actor=cast["supervisor_a"],
        record_id=record.pk,
        action="approve",
        content="楼道灯坏了一个月。\n我的证号[身份证号]，加我 [微信号] 发照片。",
    )
    assert record.status == Status.PUBLISHED and record.edited


def test_it_checks_the_public_address_too(make_ticket: Any, cast: dict, departments: dict) -> None:
    ticket = replied(make_ticket, cast, departments, "路灯坏了。", address="建设路口 A1234567")
    record = record_for(ticket)
    assert record.address == "建设路口 A1234567"
    assert record.status == Status.PENDING
    with pytest.raises(ConfirmationRequired):
        publication.public_record_review(
            actor=cast["dispatcher"], record_id=record.pk, action="approve"
        )
    record = publication.public_record_review(
        actor=cast["dispatcher"], record_id=record.pk, action="approve", address="建设路口"
    )
    assert record.status == Status.PUBLISHED and record.address == "建设路口"


def test_a_confidential_case_needs_no_confirmation(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, UNNAMED, confidential=True))
    record = publication.public_record_review(
        actor=cast["dispatcher"], record_id=record.pk, action="approve"
    )
    assert record.status == Status.PUBLISHED and record.content == ""


# --- the review page ----------------------------------------------------------------------


def test_the_review_page_flags_suspects_and_asks_a_second_confirmation(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, UNNAMED))
    client = Client()
    client.force_login(cast["supervisor_a"])
    url = f"/public/review/{record.pk}/"
    html = client.get(url).content.decode()
    assert (
        '<mark class="suspicious" data-kind="id" title="疑似证件号或卡号">'
        "420102199003071233</mark>" in html
    )
    assert '<mark class="suspicious" data-kind="handle" title="疑似账号">wjg_1988</mark>' in html
    assert "公开文本中有 2 处疑似个人信息" in html
    assert 'name="confirm"' not in html  # no confirmation offered before a refusal

    form = {
        "action": "approve",
        "title": record.title,
        "content": record.content,
        "reply": "已修复，谢谢反映。",
        "address": record.address,
    }
    refused = client.post(url, form)
    page = refused.content.decode()
    assert refused.status_code == 409
    assert "2 处疑似个人信息" in page and "未公开" in page
    assert "已修复，谢谢反映。" in page  # the reviewer's edit is shown again, not lost
    token = re.search(r'name="confirm" value="([0-9a-f]+)" required', page)
    assert token is not None
    assert record_for(record.ticket).status == Status.PENDING

    approved = client.post(url, {**form, "confirm": token.group(1)})
    assert approved.status_code == 302
    record.refresh_from_db()
    assert record.status == Status.PUBLISHED and record.reply == "已修复，谢谢反映。"


def test_the_review_page_keeps_edits_when_a_decision_is_refused(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, UNNAMED))
    client = Client()
    client.force_login(cast["dispatcher"])
    response = client.post(
        f"/public/review/{record.pk}/",
        {"action": "withhold", "content": "改过的公开文本", "reason": ""},
    )
    assert response.status_code == 400
    assert "改过的公开文本</textarea>" in response.content.decode()


def test_the_review_list_counts_suspects(make_ticket: Any, cast: dict, departments: dict) -> None:
    replied(make_ticket, cast, departments, UNNAMED)
    client = Client()
    client.force_login(cast["dispatcher"])
    html = client.get("/public/review/").content.decode()
    assert '<td class="suspect-count">2 处</td>' in html


# --- the inbox link -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "count"),
    [("dispatcher", 2), ("supervisor_a", 2), ("supervisor_b", 0), ("admin", 2)],
)
def test_the_inbox_links_the_review_queue_with_its_count_for_reviewers(
    make_ticket: Any, cast: dict, departments: dict, who: str, count: int
) -> None:
    replied(make_ticket, cast, departments, UNNAMED)
    replied(make_ticket, cast, departments, ISSUE)
    replied(make_ticket, cast, departments, "建设路路灯坏了。")  # auto-published
    client = Client()
    client.force_login(cast[who])
    html = client.get("/inbox/").content.decode()
    link = re.search(r'<a href="/public/review/" class="review-link".*?</a>', html)
    assert link is not None, html
    assert f'id="review-count" aria-label="待审核 {count} 条">{count}</span>' in link.group(0)


@pytest.mark.parametrize("who", ["handler_a", "handler_b", "leadership"])
def test_the_inbox_shows_no_review_link_to_other_roles(
    make_ticket: Any, cast: dict, departments: dict, who: str
) -> None:
    replied(make_ticket, cast, departments, UNNAMED)
    client = Client()
    client.force_login(cast[who])
    response = client.get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/public/review/" not in html and "公开审核" not in html


# --- the admin ----------------------------------------------------------------------------


def test_the_admin_also_needs_the_confirmation_to_publish_a_suspect_copy(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    record = record_for(replied(make_ticket, cast, departments, UNNAMED))
    client = Client()
    client.force_login(cast["admin"])
    url = f"/admin/tickets/publicrecord/{record.pk}/change/"
    form = {
        "status": "published",
        "title": record.title,
        "content": record.content,
        "reply": record.reply,
        "address": record.address,
        "review_note": "",
    }
    page = client.post(url, form).content.decode()
    assert "2 处疑似个人信息" in page and "420102199003071233（诉求内容）" in page
    assert record_for(record.ticket).status == Status.PENDING
    client.post(url, {**form, "confirm_suspects": "on"})
    assert record_for(record.ticket).status == Status.PUBLISHED


# --- a second look at what is already public ----------------------------------------------


def test_it_sends_records_published_under_older_rules_back_to_review(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    import io

    from django.core.management import call_command

    leaked = record_for(replied(make_ticket, cast, departments, ISSUE))
    # As the older rules published it: nothing masked, published without a person.
    PublicRecord.objects.filter(pk=leaked.pk).update(
        content=ISSUE, masks={}, status=Status.PUBLISHED, auto_published=True
    )
    clean = record_for(replied(make_ticket, cast, departments, "建设路路灯坏了。"))
    approved = record_for(replied(make_ticket, cast, departments, UNNAMED))
    with pytest.raises(ConfirmationRequired) as refused:
        publication.public_record_review(
            actor=cast["dispatcher"], record_id=approved.pk, action="approve"
        )
    publication.public_record_review(
        actor=cast["dispatcher"],
        record_id=approved.pk,
        action="approve",
        confirm=refused.value.token,
    )

    out = io.StringIO()
    call_command("public_recheck", stdout=out)
    assert "将退回待审核 1 条" in out.getvalue() and "未写入" in out.getvalue()
    assert record_for(leaked.ticket).status == Status.PUBLISHED  # a dry run writes nothing

    call_command("public_recheck", "--apply", stdout=io.StringIO())
    leaked = record_for(leaked.ticket)
    assert leaked.status == Status.PENDING
    assert leaked.content == "身份证号[身份证号]，微信[微信号]，楼道灯坏了一个月。"
    assert TicketEvent.objects.filter(
        ticket=leaked.ticket, kind="public_review", payload__action="recheck"
    ).exists()
    before = clean.published_at
    clean = record_for(clean.ticket)
    assert clean.status == Status.PUBLISHED and clean.published_at == before
    assert record_for(approved.ticket).status == Status.PUBLISHED  # a person approved it

    out = io.StringIO()
    call_command("public_recheck", "--apply", "--reviewed", stdout=out)
    assert "人工批准但仍有疑似个人信息的：1 条，已退回待审核 1 条" in out.getvalue()
    approved = record_for(approved.ticket)
    assert approved.status == Status.PENDING and "wjg_1988" in approved.content
