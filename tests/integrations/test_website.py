"""The citizen's pages through the Django test client: what a citizen sees, what is stored."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.cache.backends.locmem import LocMemCache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from integrations.models import InboundMessage
from integrations.website import forms, ratelimit, views
from tests.conftest import walk
from tickets import services
from tickets.models import Attachment, Category, Feedback, Ticket, TicketEvent

JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xdb\x00C\x00" + bytes(range(1, 65)) + b"\xff\xd9"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@pytest.fixture(autouse=True)
def private_media(settings: Any, tmp_path: Path) -> Path:
    """Uploads go to a throw-away private storage, never to var/."""
    root = tmp_path / "private-media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return root


@pytest.fixture(autouse=True)
def fresh_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # A private cache per test: the default cache may be Redis, shared with other runs.
    monkeypatch.setattr(ratelimit, "cache", LocMemCache(f"website-{uuid.uuid4().hex}", {}))


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def case_form(**overrides: Any) -> dict[str, Any]:
    form = {
        "name": "张三",
        "phone": "13812345678",
        "email": "",
        "request_type": "complaint",
        "category": "lights",
        "title": "建设路路灯不亮",
        "content": "建设路与和平大道交叉口的路灯已经坏了一个多星期，晚上很黑，请尽快维修。",
        "address": "建设路 18 号附近",
        "token": uuid.uuid4().hex,
        "website": "",
    }
    form.update(overrides)
    return form


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def html(response: Any) -> str:
    return response.content.decode("utf-8")


def file_case(client: Client, **overrides: Any) -> Ticket:
    response = client.post("/", case_form(**overrides))
    assert response.status_code == 302, html(response)
    return Ticket.objects.order_by("-id").first()  # type: ignore[return-value]


def look_up(client: Client, ticket: Ticket, code: str | None = None) -> Any:
    response = client.post(
        "/track/", {"case_no": ticket.case_no, "query_code": code or ticket.query_code}
    )
    assert response.status_code == 302, html(response)
    return client.get(response["Location"])


# --- filing ------------------------------------------------------------------------------


def test_it_shows_the_filing_form_in_chinese_with_active_categories(client, categories):
    Category.objects.create(code="old", name="已停用分类", active=False)
    response = client.get("/")
    page = html(response)
    assert response.status_code == 200
    for text in ("网上诉求", "联系电话", "诉求内容", "保密", "附件", "路灯", "物业"):
        assert text in page
    assert "已停用分类" not in page
    assert "csrfmiddlewaretoken" in page
    assert re.search(r'name="token" value="[0-9a-f]{32}"', page)
    assert "/static/website/site.css" in page and "cdn" not in page.lower()


def test_it_files_a_case_with_a_jpeg_and_shows_case_number_and_query_code(
    client, categories, private_media
):
    response = client.post("/", {**case_form(confidential="on"), "attachments": [jpeg()]})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    location = response["Location"]
    assert location.startswith("/filed/")
    for secret in (ticket.case_no, ticket.query_code, "13812345678", str(ticket.pk) + "/"):
        assert secret not in location

    page = html(client.get(location))
    assert ticket.case_no in page and ticket.query_code_display in page
    assert "您的诉求已提交" in page

    assert ticket.channel == "website" and ticket.state == "new" and ticket.confidential
    assert ticket.category == categories["lights"] and ticket.request_type == "complaint"
    assert ticket.citizen is not None and ticket.citizen.phone == "13812345678"
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.name == "photo.jpg" and attachment.content_type == "image/jpeg"
    assert attachment.size == len(JPEG) and attachment.file.name.endswith(".jpg")
    assert attachment.file.name.startswith("attachments/") and "photo" not in attachment.file.name
    [stored] = stored_files(private_media)
    assert stored.read_bytes() == JPEG
    inbound = InboundMessage.objects.get()
    assert inbound.status == "processed" and inbound.ticket == ticket


def test_it_refuses_a_jpg_that_is_really_text_and_stores_nothing(client, categories, private_media):
    fake = SimpleUploadedFile("photo.jpg", b"just some text, not a picture", "image/jpeg")
    response = client.post("/", {**case_form(), "attachments": [fake]})
    assert response.status_code == 400
    assert "附件「photo.jpg」不是 JPEG、PNG 图片或 PDF 文件。" in html(response)
    assert not Ticket.objects.exists() and not InboundMessage.objects.exists()
    assert stored_files(private_media) == []


def test_it_refuses_more_than_five_attachments(client, categories):
    files = [jpeg(f"p{n}.jpg") for n in range(6)]
    response = client.post("/", {**case_form(), "attachments": files})
    assert response.status_code == 400
    assert "最多上传 5 个附件。" in html(response)
    assert not Ticket.objects.exists()


def test_it_refuses_a_file_over_10_mb_and_a_body_too_large_to_read(client, categories, monkeypatch):
    monkeypatch.setattr(forms, "MAX_FILE_BYTES", len(JPEG) - 1)
    response = client.post("/", {**case_form(), "attachments": [jpeg("big.jpg")]})
    assert response.status_code == 400 and "附件「big.jpg」超过 10 MB。" in html(response)
    monkeypatch.setattr(views, "MAX_BODY_BYTES", 2000)
    response = client.post("/", {**case_form(), "attachments": [jpeg("big.jpg")] * 30})
    assert response.status_code == 413 and "提交的内容过大" in html(response)
    assert not Ticket.objects.exists() and not InboundMessage.objects.exists()


def test_it_keeps_what_was_typed_and_names_the_field_when_content_is_too_short(client, categories):
    response = client.post("/", case_form(content="路灯坏了", title="路灯问题反映"))
    page = html(response)
    assert response.status_code == 400
    assert "诉求内容：诉求内容至少 10 个字。" in page
    assert 'value="路灯问题反映"' in page and 'value="13812345678"' in page
    assert "路灯坏了</textarea>" in page
    assert not Ticket.objects.exists() and not InboundMessage.objects.exists()


def test_it_names_a_bad_phone_number_and_a_missing_title(client, categories):
    response = client.post("/", case_form(phone="12345", title=""))
    page = html(response)
    assert response.status_code == 400
    assert "请填写有效的手机号（如 13812345678）或固定电话（如 027-12345678）。" in page
    assert "请填写标题。" in page
    assert 'value="12345"' in page
    assert not Ticket.objects.exists()


def test_it_files_one_case_for_a_double_submit_with_the_same_token(
    client, categories, private_media
):
    token = re.search(r'name="token" value="([0-9a-f]{32})"', html(client.get("/"))).group(1)
    first = client.post("/", {**case_form(token=token), "attachments": [jpeg()]})
    second = client.post("/", {**case_form(token=token), "attachments": [jpeg()]})
    assert first.status_code == second.status_code == 302
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    ticket = Ticket.objects.get()
    for response in (first, second):
        assert ticket.case_no in html(client.get(response["Location"]))
    assert Attachment.objects.count() == 1 and len(stored_files(private_media)) == 1


def test_it_refuses_a_filled_honeypot_quietly(client, categories, private_media):
    response = client.post(
        "/", {**case_form(website="http://spam.example"), "attachments": [jpeg()]}
    )
    assert response.status_code == 200
    page = html(response)
    assert "网上诉求" in page and "提交诉求" in page
    assert "alert" not in page and "张三" not in page
    assert not Ticket.objects.exists() and not InboundMessage.objects.exists()
    assert stored_files(private_media) == []


def test_it_limits_cases_per_address_to_ten_an_hour(client, categories):
    with time_machine.travel(dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC), tick=False):
        for _ in range(10):
            file_case(client)
        response = client.post("/", case_form())
        assert response.status_code == 429
        page = html(response)
        assert "提交过于频繁" in page and "每小时最多提交 10 件" in page
        assert 'value="建设路路灯不亮"' in page
        assert Ticket.objects.count() == 10
        other = client.post("/", case_form(), REMOTE_ADDR="10.1.2.3")
        assert other.status_code == 302
    with time_machine.travel(dt.datetime(2025, 3, 3, 11, 1, tzinfo=dt.UTC), tick=False):
        assert client.post("/", case_form()).status_code == 302
    assert Ticket.objects.count() == 12


def test_it_does_not_count_forms_sent_back_for_correction(client, categories, settings):
    settings.WEBSITE_RATE_LIMIT = "1/hour"
    for _ in range(3):
        assert client.post("/", case_form(content="太短")).status_code == 400
    assert client.post("/", case_form()).status_code == 302
    assert client.post("/", case_form()).status_code == 429


def test_it_requires_the_csrf_token(categories):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/", case_form()).status_code == 403
    assert not Ticket.objects.exists()


# --- looking a case up -------------------------------------------------------------------


def test_it_reveals_nothing_for_a_wrong_query_code_or_a_case_number_alone(client, categories):
    ticket = file_case(client)
    wrong = client.post("/track/", {"case_no": ticket.case_no, "query_code": "guess-guess"})
    unknown = client.post("/track/", {"case_no": "20990101000001", "query_code": "x"})
    for response in (wrong, unknown):
        page = html(response)
        assert response.status_code == 404
        assert "未找到该诉求，请核对诉求编号和查询码。" in page
        assert "建设路路灯不亮" not in page and "待受理" not in page
    alone = client.post("/track/", {"case_no": ticket.case_no, "query_code": ""})
    assert alone.status_code == 400 and "请填写查询码。" in html(alone)
    assert "建设路路灯不亮" not in html(client.get(f"/track/?case_no={ticket.case_no}"))


def test_it_sends_a_bad_or_expired_case_page_back_to_the_look_up(client, categories):
    ticket = file_case(client)
    response = client.get("/track/not-a-token/")
    assert response.status_code == 302 and response["Location"] == "/track/"
    page = look_up(client, ticket)
    url = page.wsgi_request.path
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)):
        assert client.get(url).status_code == 302


def test_it_shows_state_deadline_reply_and_only_what_a_citizen_may_see(
    client, categories, cast, departments
):
    ticket = file_case(client, attachments=[jpeg("现场.jpg")])
    services.ticket_add_note(actor=cast["dispatcher"], ticket_id=ticket.pk, text="内部：已多次来电")
    ticket = walk(ticket, cast, departments, "replied")
    page = html(look_up(client, ticket))
    assert ticket.case_no in page and "已答复" in page
    assert "已安排维修，路灯已恢复。" in page  # the reply
    assert "城管局" in page and "已受理" in page and "诉求已提交" in page
    assert "现场.jpg" in page and "/attachments/" not in page
    for hidden in ("内部：已多次来电", "handler_a", "dispatcher", "内部备注"):
        assert hidden not in page
    assert "评价办理结果" in page


def test_it_shows_the_deadline_of_an_open_case(client, categories, cast, departments):
    ticket = walk(file_case(client), cast, departments, "in_progress")
    page = html(look_up(client, ticket))
    assert "办理中" in page and "办结期限" in page
    assert (
        f"{ticket.resolve_due_at.astimezone(dt.timezone(dt.timedelta(hours=8))):%Y-%m-%d}" in page
    )


# --- adding information, rating ----------------------------------------------------------


def test_it_resumes_a_waiting_ticket_when_the_citizen_adds_information(
    client, categories, cast, departments, private_media
):
    ticket = walk(file_case(client), cast, departments, "waiting_citizen")
    page = look_up(client, ticket)
    url = page.wsgi_request.path
    assert "承办部门需要您补充：请提供具体位置" in html(page)
    photo = SimpleUploadedFile("位置.png", PNG, content_type="image/png")
    response = client.post(
        url + "info/", {"text": "就在建设路 18 号门口东侧。", "attachments": [photo]}
    )
    assert response.status_code == 302 and response["Location"] == url
    ticket.refresh_from_db()
    assert ticket.state == "in_progress" and ticket.paused_at is None
    event = TicketEvent.objects.get(ticket=ticket, kind="citizen_message")
    assert event.payload["text"] == "就在建设路 18 号门口东侧。"
    attachment = Attachment.objects.get(pk=event.payload["attachments"][0])
    assert attachment.content_type == "image/png" and attachment.file.read() == PNG
    assert TicketEvent.objects.filter(ticket=ticket, kind="resume").exists()
    after = html(client.get(url))
    assert "补充材料已收到" in after and "您补充了材料" in after and "位置.png" in after


def test_it_refuses_an_empty_addition_and_one_that_was_not_asked_for(
    client, categories, cast, departments
):
    ticket = walk(file_case(client), cast, departments, "waiting_citizen")
    url = look_up(client, ticket).wsgi_request.path
    empty = client.post(url + "info/", {"text": "  "})
    assert empty.status_code == 400 and "请填写补充内容或上传附件。" in html(empty)
    services.ticket_resume(actor=cast["handler_a"], ticket_id=ticket.pk)
    late = client.post(url + "info/", {"text": "补充一点情况"})
    assert late.status_code == 400 and "目前不需要补充材料" in html(late)
    assert not TicketEvent.objects.filter(ticket=ticket, kind="citizen_message").exists()


def test_it_closes_on_a_satisfied_rating(client, categories, cast, departments):
    ticket = walk(file_case(client), cast, departments, "replied")
    url = look_up(client, ticket).wsgi_request.path
    response = client.post(url + "rate/", {"satisfaction": "satisfied", "resolved": "yes"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == "closed"
    feedback = Feedback.objects.get(ticket=ticket)
    assert feedback.channel == "website" and feedback.resolved is True
    page = html(client.get(url))
    assert "感谢您的评价" in page and "已办结" in page and "评价办理结果" not in page


def test_it_reopens_on_an_unsatisfied_rating(client, categories, cast, departments):
    ticket = walk(file_case(client), cast, departments, "replied")
    url = look_up(client, ticket).wsgi_request.path
    response = client.post(
        url + "rate/", {"satisfaction": "unsatisfied", "resolved": "no", "comment": "灯还是不亮"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == "in_progress" and ticket.reopen_count == 1
    assert "灯还是不亮" in TicketEvent.objects.get(ticket=ticket, kind="reopen").payload["reason"]
    again = client.post(url + "rate/", {"satisfaction": "satisfied", "resolved": "yes"})
    assert again.status_code == 400 and "只有已答复的工单可以评价" in html(again)


def test_it_names_a_missing_rating(client, categories, cast, departments):
    ticket = walk(file_case(client), cast, departments, "replied")
    url = look_up(client, ticket).wsgi_request.path
    response = client.post(url + "rate/", {"resolved": "yes"})
    assert response.status_code == 400 and "请选择满意度。" in html(response)
    assert Ticket.objects.get(pk=ticket.pk).state == "replied"


# --- attachments for staff ---------------------------------------------------------------


def test_it_serves_an_attachment_only_to_staff_who_may_see_the_ticket(
    client, categories, cast, departments
):
    ticket = file_case(client, attachments=[jpeg()])
    walk(ticket, cast, departments, "assigned")  # to department a (城管局)
    attachment = Attachment.objects.get(ticket=ticket)
    url = f"/attachments/{attachment.pk}/"
    assert Client().get(url).status_code == 404
    for name in ("handler_b", "outsider"):
        other = Client()
        other.force_login(cast[name])
        assert other.get(url).status_code == 404
    handler = Client()
    handler.force_login(cast["handler_a"])
    response = handler.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG
    assert "no-store" in response["Cache-Control"]
    assert handler.get("/attachments/999999/").status_code == 404
