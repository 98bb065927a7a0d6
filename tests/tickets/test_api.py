"""REST API v1: list, detail, one POST per action, and the website form."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integrations.models import InboundMessage
from tests.conftest import walk
from tickets import services
from tickets.api import views
from tickets.models import Department, Ticket

pytestmark = pytest.mark.django_db

LIST = "/api/v1/tickets/"
WEBSITE = "/api/v1/website/tickets/"


@pytest.fixture(autouse=True)
def fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    # A private cache per test (LocMemCache shares storage by name, hence the uuid): the
    # default cache may be Redis, shared with other processes.
    cache = LocMemCache(f"api-tests-{uuid.uuid4().hex}", {})
    monkeypatch.setattr(views.WebsiteCreateThrottle, "cache", cache)


@pytest.fixture
def client_for(cast: dict[str, Any]) -> Callable[[str], APIClient]:
    def make(who: str) -> APIClient:
        client = APIClient()
        client.force_login(cast[who])
        return client

    return make


def detail_url(ticket: Ticket) -> str:
    return f"{LIST}{ticket.case_no}/"


def act(client: APIClient, ticket: Ticket, action: str, **data: Any) -> Any:
    return client.post(f"{detail_url(ticket)}{action}/", data, format="json")


def case_nos(response: Any) -> set[str]:
    assert response.status_code == 200, response.json()
    return {row["case_no"] for row in response.json()["results"]}


def fields_of(response: Any) -> dict[str, str]:
    return {item["field"]: item["reason"] for item in response.json().get("errors", [])}


def assign_to(ticket: Ticket, cast: dict[str, Any], department: Department) -> Ticket:
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    return services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=department.pk
    )


def website_form(**overrides: Any) -> dict[str, Any]:
    form = {
        "name": "张三",
        "phone": "13812345678",
        "email": "",
        "request_type": "complaint",
        "category": "lights",
        "title": "建设路路灯不亮",
        "content": "建设路与和平大道交叉口的路灯已经坏了一个多星期，晚上很黑，请尽快维修。",
        "address": "建设路",
        "confidential": False,
    }
    form.update(overrides)
    return form


# --- list ---------------------------------------------------------------------------------


def test_it_lists_only_the_department_tickets_for_a_handler(
    cast, departments, make_ticket, client_for
):
    fresh = make_ticket()
    for_a = walk(make_ticket(), cast, departments, "assigned")
    for_a1 = assign_to(make_ticket(), cast, departments["a1"])
    for_b = assign_to(make_ticket(), cast, departments["b"])

    assert case_nos(client_for("handler_a").get(LIST)) == {for_a.case_no, for_a1.case_no}
    assert case_nos(client_for("handler_a1").get(LIST)) == {for_a1.case_no}
    assert case_nos(client_for("handler_b").get(LIST)) == {for_b.case_no}
    everything = {fresh.case_no, for_a.case_no, for_a1.case_no, for_b.case_no}
    assert case_nos(client_for("dispatcher").get(LIST)) == everything
    assert case_nos(client_for("leadership").get(LIST)) == everything
    assert case_nos(client_for("admin").get(LIST)) == everything


def test_it_lists_rows_with_deadlines_and_chinese_state_labels(cast, make_ticket, client_for):
    ticket = make_ticket()
    row = client_for("dispatcher").get(LIST).json()["results"][0]
    assert row["case_no"] == ticket.case_no
    assert row["state"] == "new" and row["state_label"] == "待受理"
    assert row["channel"] == "website" and row["version"] == 1
    for key in ("received_at", "ack_due_at", "resolve_due_at", "calendar_confirmed", "supervised"):
        assert key in row
    assert "content" not in row


def test_it_refuses_users_without_a_role(cast, make_ticket, client_for):
    ticket = make_ticket()
    outsider = client_for("outsider")
    assert outsider.get(LIST).status_code == 403
    assert outsider.get(detail_url(ticket)).status_code == 403
    response = act(outsider, ticket, "acknowledge")
    assert response.status_code == 403
    assert response.json()["message"] == "您没有使用工单系统的权限。"
    anonymous = APIClient()
    # 403 rather than 401: session authentication comes first and has no challenge header.
    for response in (anonymous.get(LIST), act(anonymous, ticket, "acknowledge")):
        assert response.status_code in (401, 403)
        assert response.json()["code"] == "not_authenticated"
    ticket.refresh_from_db()
    assert ticket.state == "new"


def test_it_lets_a_token_authenticated_handler_list(cast, departments, make_ticket):
    ticket = walk(make_ticket(), cast, departments, "assigned")
    token = Token.objects.create(user=cast["handler_a"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert case_nos(client.get(LIST)) == {ticket.case_no}
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(LIST).json()["code"] == "authentication_failed"


def test_it_filters_by_state_department_channel_and_overdue(
    cast, departments, make_ticket, client_for
):
    new = make_ticket()
    late = make_ticket()
    Ticket.objects.filter(pk=late.pk).update(ack_due_at=timezone.now() - dt.timedelta(minutes=5))
    wechat = make_ticket(channel="wechat", sender_kind="wechat_openid", sender_id="o-abc")
    in_a = walk(make_ticket(), cast, departments, "in_progress")
    in_b = assign_to(make_ticket(), cast, departments["b"])
    client = client_for("dispatcher")

    assert case_nos(client.get(LIST, {"state": "new"})) == {
        new.case_no,
        late.case_no,
        wechat.case_no,
    }
    assert case_nos(client.get(LIST, {"state": "assigned,in_progress"})) == {
        in_a.case_no,
        in_b.case_no,
    }
    assert case_nos(client.get(LIST, {"department": departments["b"].pk})) == {in_b.case_no}
    assert case_nos(client.get(LIST, {"channel": "wechat"})) == {wechat.case_no}
    assert case_nos(client.get(LIST, {"overdue": "true"})) == {late.case_no}
    assert late.case_no not in case_nos(client.get(LIST, {"overdue": "false"}))
    assert case_nos(client.get(LIST, {"state": "new", "overdue": "false"})) == {
        new.case_no,
        wechat.case_no,
    }


def test_it_rejects_bad_filters_with_the_field(cast, client_for):
    client = client_for("dispatcher")
    response = client.get(LIST, {"state": "new,bogus"})
    assert response.status_code == 400
    assert "bogus" in fields_of(response)["state"]
    assert "limit" in fields_of(client.get(LIST, {"limit": 500}))
    assert "channel" in fields_of(client.get(LIST, {"channel": "fax"}))
    assert "overdue" in fields_of(client.get(LIST, {"overdue": "maybe"}))


def test_it_pages_with_a_keyset_without_duplicates(cast, make_ticket, client_for):
    made = {make_ticket().case_no for _ in range(5)}
    client = client_for("dispatcher")

    first = client.get(LIST, {"limit": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    assert "after=" in first["next"] and "limit=3" in first["next"]
    # Newer tickets arriving between pages must not shift the second page.
    make_ticket()
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None

    seen = [row["case_no"] for row in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True)


def test_it_lists_5_or_30_tickets_with_the_same_number_of_queries(
    cast, departments, categories, make_ticket, client_for
):
    client = client_for("dispatcher")

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST, {"limit": 100})
        assert response.status_code == 200
        return len(queries)

    for _ in range(5):
        assign_to(make_ticket(category_code="lights"), cast, departments["a"])
    few = count_queries()
    for _ in range(25):
        assign_to(make_ticket(category_code="housing"), cast, departments["b"])
    many = count_queries()
    assert len(client.get(LIST, {"limit": 100}).json()["results"]) == 30
    assert few == many


# --- detail ------------------------------------------------------------------------------


def test_it_shows_the_detail_with_deadlines_and_the_timeline(
    cast, departments, make_ticket, client_for
):
    ticket = walk(make_ticket(phone="13800001234"), cast, departments, "in_progress")
    body = client_for("handler_a").get(detail_url(ticket)).json()

    assert body["state"] == "in_progress" and body["state_label"] == "办理中"
    assert body["department"]["name"] == "城管局"
    assert body["assignee"]["name"] == "handler_a"
    assert body["ack_on_time"] is True and body["acknowledged_at"]
    assert body["resolve_due_at"] and body["first_replied_at"] is None
    assert body["resolved_on_time"] is None and body["calendar_confirmed"] in (True, False)
    assert body["content"].startswith("建设路路灯")
    assert body["citizen"]["phone"] == "13800001234"
    events = body["events"]
    assert [e["kind"] for e in events] == ["created", "acknowledge", "assign", "accept"]
    assert events[1]["actor_label"] == "dispatcher"
    assert (events[2]["from_state"], events[2]["to_state"]) == ("acknowledged", "assigned")
    assert events[2]["payload"]["department"] == "城管局"
    assert events[3]["kind_label"] == "签收"
    assert body["allowed_actions"] == ["transfer", "request_info", "reply", "note"]


def test_it_offers_each_role_only_its_actions(cast, departments, make_ticket, client_for):
    ticket = make_ticket()
    url = detail_url(ticket)
    assert client_for("dispatcher").get(url).json()["allowed_actions"] == [
        "acknowledge",
        "merge_into",
        "mark_invalid",
        "classify",
        "note",
    ]
    assert client_for("leadership").get(url).json()["allowed_actions"] == []


def test_it_answers_404_for_a_ticket_of_another_department(
    cast, departments, make_ticket, client_for
):
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    response = client_for("handler_b").get(detail_url(ticket))
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "工单不存在或您无权查看。"}
    assert client_for("dispatcher").get(f"{LIST}20990101000001/").status_code == 404


# --- actions -----------------------------------------------------------------------------


def test_it_walks_a_ticket_through_every_step_by_the_api(
    cast, departments, categories, make_ticket, client_for
):
    ticket = make_ticket()
    dispatcher, handler = client_for("dispatcher"), client_for("handler_a")

    def step(client: APIClient, action: str, state: str, **data: Any) -> dict[str, Any]:
        response = act(client, ticket, action, **data)
        assert response.status_code == 200, (action, response.json())
        body = response.json()
        assert body["state"] == state, (action, body["state"])
        return body

    body = step(dispatcher, "acknowledge", "acknowledged", expected_version=1)
    assert body["version"] == 2 and body["ack_on_time"] is True
    body = step(
        dispatcher,
        "classify",
        "acknowledged",
        request_type="complaint",
        urgency="urgent",
        category=categories["lights"].pk,
    )
    assert body["urgency"] == "urgent" and body["category"]["code"] == "lights"
    body = step(
        dispatcher,
        "assign",
        "assigned",
        department=departments["a"].pk,
        assignee=cast["handler_a"].pk,
        expected_version=body["version"],
    )
    assert body["assignee"]["name"] == "handler_a"
    step(handler, "accept", "in_progress")
    step(handler, "request_info", "waiting_citizen", question="请提供路灯编号")
    step(handler, "resume", "in_progress", note="市民电话补充了编号")
    body = step(handler, "reply", "replied", content="已更换灯泡，路灯恢复照明。")
    assert body["replies"][0]["content"] == "已更换灯泡，路灯恢复照明。"
    assert body["replies"][0]["department"] == "城管局"
    assert body["first_replied_at"] and body["resolved_on_time"] is True
    body = step(dispatcher, "reopen", "in_progress", reason="市民反映仍然不亮")
    assert body["reopen_count"] == 1
    step(handler, "reply", "replied", content="已更换整套灯具。")
    body = step(client_for("supervisor_a"), "close", "closed")
    body = step(dispatcher, "note", "closed", text="市民电话致谢")

    kinds = [e["kind"] for e in body["events"]]
    assert kinds == [
        "created",
        "acknowledge",
        "classify",
        "assign",
        "accept",
        "request_info",
        "resume",
        "reply",
        "reopen",
        "reply",
        "close",
        "note",
    ]
    assert body["events"][-1]["payload"] == {"text": "市民电话致谢"}


def test_it_returns_and_transfers_by_the_api(cast, departments, make_ticket, client_for):
    ticket = walk(make_ticket(), cast, departments, "assigned")
    handler_a = client_for("handler_a")

    response = act(handler_a, ticket, "return_to_dispatch", reason="不属于本部门职责")
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    assert response.json()["events"][-1]["payload"]["reason"] == "不属于本部门职责"

    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["a"].pk
    )
    services.ticket_accept(actor=cast["handler_a"], ticket_id=ticket.pk)
    response = act(
        handler_a, ticket, "transfer", department=departments["b"].pk, reason="属于物业管理"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "assigned"
    assert response.json()["department"]["code"] == "b"
    # The ticket has left department A: handler A no longer sees it.
    assert handler_a.get(detail_url(ticket)).status_code == 404
    assert client_for("handler_b").get(detail_url(ticket)).status_code == 200


def test_it_merges_a_duplicate_and_marks_spam_invalid(cast, make_ticket, client_for):
    original, duplicate, spam = make_ticket(), make_ticket(), make_ticket("加微信领红包！！！！")
    dispatcher = client_for("dispatcher")

    response = act(dispatcher, duplicate, "merge_into", into=original.case_no)
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "merged"
    assert response.json()["duplicate_of"] == original.case_no

    response = act(dispatcher, spam, "mark_invalid", reason="广告")
    assert response.status_code == 200
    assert response.json()["state"] == "invalid"

    response = act(dispatcher, original, "merge_into", into=original.case_no)
    assert response.status_code == 400
    assert "into" in fields_of(response)


def test_it_needs_a_reason_to_return_or_mark_invalid(cast, departments, make_ticket, client_for):
    ticket = walk(make_ticket(), cast, departments, "assigned")
    response = act(client_for("handler_a"), ticket, "return_to_dispatch")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert fields_of(response) == {"reason": "请填写退单理由。"}

    response = act(client_for("handler_a"), ticket, "return_to_dispatch", reason="   ")
    assert fields_of(response) == {"reason": "请填写退单理由。"}

    fresh = make_ticket()
    response = act(client_for("dispatcher"), fresh, "mark_invalid", reason="")
    assert fields_of(response) == {"reason": "请填写无效原因。"}
    response = act(client_for("handler_a"), ticket, "transfer", reason="转")
    assert "department" in fields_of(response)
    ticket.refresh_from_db()
    assert ticket.state == "assigned" and ticket.version == 3


def test_it_rejects_invalid_references_with_the_field(cast, departments, make_ticket, client_for):
    ticket = walk(make_ticket(), cast, departments, "acknowledged")
    dispatcher = client_for("dispatcher")
    response = act(
        dispatcher, ticket, "assign", department=departments["a"].pk, assignee=cast["handler_b"].pk
    )
    assert response.status_code == 400
    assert fields_of(response) == {"assignee": "承办人必须是该部门的承办人或负责人。"}
    response = act(dispatcher, ticket, "classify", category=999999)
    assert fields_of(response) == {"category": "分类不存在。"}
    response = act(dispatcher, ticket, "classify")
    assert "request_type" in fields_of(response)
    response = act(dispatcher, ticket, "assign", department="abc")
    assert "department" in fields_of(response)


def test_it_answers_409_naming_the_state_for_a_wrong_transition(cast, make_ticket, client_for):
    ticket = make_ticket()
    response = act(client_for("dispatcher"), ticket, "reply", content="已处理")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_not_allowed"
    assert body["state"] == "new" and body["action"] == "reply"
    assert "当前状态为「待受理」" in body["message"] and "「答复」" in body["message"]
    assert ticket.case_no in body["message"]


def test_it_answers_409_for_a_stale_version(cast, departments, make_ticket, client_for):
    ticket = make_ticket()
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    response = act(
        client_for("dispatcher"),
        ticket,
        "assign",
        department=departments["a"].pk,
        expected_version=1,
    )
    assert response.status_code == 409
    assert "已被他人修改" in response.json()["message"]
    assert "已受理" in response.json()["message"]
    ticket.refresh_from_db()
    assert ticket.state == "acknowledged" and ticket.version == 2


def test_it_answers_404_to_a_handler_of_another_department(
    cast, departments, make_ticket, client_for
):
    ticket = walk(make_ticket(), cast, departments, "assigned")
    response = act(client_for("handler_b"), ticket, "accept")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    # Even with bad input the answer reveals nothing about the ticket.
    assert act(client_for("handler_b"), ticket, "return_to_dispatch").status_code == 404
    ticket.refresh_from_db()
    assert ticket.state == "assigned"


def test_it_refuses_every_action_to_leadership(cast, departments, make_ticket, client_for):
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    leadership = client_for("leadership")
    for action in views.ACTION_VIEWS:
        response = act(leadership, ticket, action)
        assert response.status_code == 403, action
        assert response.json()["code"] == "permission_denied"
        assert "您的角色不能" in response.json()["message"]
    ticket.refresh_from_db()
    assert ticket.state == "in_progress" and ticket.events.count() == 4


def test_it_refuses_a_handler_an_action_of_the_dispatcher(
    cast, departments, make_ticket, client_for
):
    ticket = walk(make_ticket(), cast, departments, "in_progress")
    response = act(client_for("handler_a"), ticket, "close")
    assert response.status_code == 403
    assert response.json()["message"] == "您的角色不能对工单执行「办结」。"


def test_it_has_one_endpoint_per_transition_plus_classify_and_note(client_for, cast):
    assert set(views.ACTION_VIEWS) == set(services.TRANSITION_SERVICES) | {"classify", "note"}
    response = client_for("dispatcher").post(f"{LIST}20990101000001/fly/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- website -----------------------------------------------------------------------------


def test_it_creates_a_case_from_the_website(categories):
    response = APIClient().post(WEBSITE, website_form(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    ticket = Ticket.objects.get(case_no=body["case_no"])
    assert body["query_code"] == ticket.query_code and len(ticket.query_code) >= 12
    assert body["lookup_url"].endswith(f"/track/?case_no={ticket.case_no}")
    assert ticket.channel == "website" and ticket.state == "new"
    assert ticket.title == "建设路路灯不亮" and ticket.request_type == "complaint"
    assert ticket.category == categories["lights"]
    assert ticket.citizen is not None and ticket.citizen.phone == "13812345678"
    assert ticket.citizen.name == "张三"
    inbound = InboundMessage.objects.get(ticket=ticket)
    assert inbound.channel == "website" and inbound.status == "processed"


def test_it_files_one_case_for_a_repeated_idempotency_key(categories):
    client = APIClient()
    form = website_form(idempotency_key="form-token-1")
    first = client.post(WEBSITE, form, format="json")
    second = client.post(WEBSITE, form, format="json")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.count() == 1
    third = client.post(WEBSITE, website_form(), format="json")
    assert third.json()["case_no"] != first.json()["case_no"]
    assert Ticket.objects.count() == 2


def test_a_reused_key_with_another_submission_reveals_nothing_of_the_first(categories):
    client = APIClient()
    first = client.post(WEBSITE, website_form(idempotency_key="guessable"), format="json")
    other = website_form(
        idempotency_key="guessable",
        phone="13900001111",
        content="另一位市民的诉求内容，与第一件无关。",
    )
    second = client.post(WEBSITE, other, format="json")
    assert second.status_code == 201
    assert second.json()["case_no"] != first.json()["case_no"]
    assert second.json()["query_code"] != first.json()["query_code"]
    assert "Idempotent-Replayed" not in second.headers


def test_it_accepts_a_landline_and_a_minimal_form(db):
    form = {"phone": "027-12345678", "title": "咨询", "content": "请问社保卡在哪里补办？谢谢。"}
    response = APIClient().post(WEBSITE, form, format="json")
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get(case_no=response.json()["case_no"])
    assert ticket.request_type == "help" and ticket.category is None
    assert APIClient().post(WEBSITE, {**form, "phone": "02712345678"}).status_code == 201


@pytest.mark.parametrize("phone", ["12345678901", "1381234567", "abc", "+8613812345678", ""])
def test_it_rejects_a_bad_phone_number(db, phone):
    response = APIClient().post(WEBSITE, website_form(phone=phone), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "电话" in fields_of(response)["phone"]
    assert Ticket.objects.count() == 0 and InboundMessage.objects.count() == 0


def test_it_rejects_content_that_is_too_short_or_too_long(categories):
    response = APIClient().post(WEBSITE, website_form(content="路灯坏了"), format="json")
    assert response.status_code == 400
    assert fields_of(response) == {"content": "诉求内容至少 10 个字。"}
    assert response.json()["message"] == "诉求内容至少 10 个字。"
    response = APIClient().post(WEBSITE, website_form(content="很" * 4001), format="json")
    assert fields_of(response) == {"content": "诉求内容不能超过 4000 个字。"}
    assert Ticket.objects.count() == 0


def test_it_names_every_bad_field_of_the_website_form(categories):
    form = website_form(category="nope", email="not-an-email", request_type="praise")
    del form["title"]
    response = APIClient().post(WEBSITE, form, format="json")
    assert response.status_code == 400
    errors = fields_of(response)
    assert errors == {
        "email": "电子邮件地址格式不正确。",
        "request_type": "诉求类型无效。",
        "category": "所选分类不存在。",
        "title": "请填写标题。",
    }
    assert response.json()["message"] == "提交的内容有误。"
    assert Ticket.objects.count() == 0


def test_it_limits_website_cases_per_address(categories, settings):
    settings.WEBSITE_RATE_LIMIT = "2/hour"
    client = APIClient()
    assert client.post(WEBSITE, website_form(), format="json").status_code == 201
    assert client.post(WEBSITE, website_form(), format="json").status_code == 201
    response = client.post(WEBSITE, website_form(), format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert Ticket.objects.count() == 2


# --- schema ------------------------------------------------------------------------------


def test_it_serves_the_openapi_schema_and_the_docs(db):
    client = APIClient()
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert "/api/v1/tickets/" in paths and "/api/v1/website/tickets/" in paths
    for action in views.ACTION_VIEWS:
        assert f"/api/v1/tickets/{{case_no}}/{action}/" in paths
    reason = schema["components"]["schemas"]["ReturnInput"]
    assert "reason" in reason["required"]
    assert client.get("/api/docs/").status_code == 200
