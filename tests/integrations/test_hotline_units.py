"""The 12345 channel piece by piece: signing, parsing, the endpoint's answers and journal, and
each platform event's effect on the ticket."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

import integrations.hotline.admin  # noqa: F401  (registers the code-map admin for the URLs)
from integrations.accounts import channel_account_save
from integrations.hotline import signing
from integrations.hotline.admin import HotlineCodeMapForm
from integrations.hotline.parser import (
    HotlineInvalid,
    caller_id,
    dispatch_message,
    order_parse,
)
from integrations.models import ChannelAccount, HotlineCodeMap, InboundMessage
from tests.conftest import CHINA
from tickets import services
from tickets.errors import ActionForbidden, TicketNotFound
from tickets.models import Category, Department, StaffNotification, State, Ticket, TicketEvent
from tickets.services.platform import ticket_withdraw

SECRET = "unit-test-secret-0123456789"
SLUG = "qs-12345"
ORDER_NO = "QS2026051200001"


# --- helpers shared with test_hotline_callbacks -------------------------------------------------


def order(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": "dispatch",
        "order_no": ORDER_NO,
        "version": 1,
        "accepted_at": "2026-05-12 09:41:27",
        "caller_name": "王女士",
        "caller_phone": "15812872383",
        "confidential": False,
        "request_type": "complaint",
        "category_code": "020329",
        "title": "铁路桥下雨后积水严重",
        "content": "来电人反映：工业路铁路桥下每逢下雨积水深达半米。",
        "address": "工业路铁路桥下",
        "district": "青山区",
        "urgency": "normal",
        "unit_code": "QS-ZJ-86",
        "due_at": "2099-05-29 18:00:00",
        "attachments": [{"name": "现场.jpg", "url": "http://files.example/att/1.jpg"}],
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def push(
    client: Client,
    body: dict[str, Any] | bytes,
    *,
    slug: str = SLUG,
    secret: str = SECRET,
    now: float | None = None,
    nonce: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    signed = signing.signed_headers(
        secret, raw, now=time.time() if now is None else now, nonce=nonce
    )
    return client.post(
        f"/integrations/hotline/{slug}/orders",
        data=raw,
        content_type="application/json",
        headers=headers if headers is not None else signed,
    )


def hotline_account(slug: str = SLUG, callback_base: str = "http://127.0.0.1:9/p") -> Any:
    account, _created = channel_account_save(
        kind="hotline", slug=slug, values={"secret": SECRET, "callback_base": callback_base}
    )
    return account


@pytest.fixture
def account(db: Any) -> ChannelAccount:
    return hotline_account()


@pytest.fixture
def maps(
    account: ChannelAccount, departments: dict[str, Department], categories: dict[str, Category]
) -> dict[str, Any]:
    HotlineCodeMap.objects.create(
        account=account, kind="unit", code="QS-ZJ-86", department=departments["b"]
    )
    HotlineCodeMap.objects.create(
        account=account, kind="unit", code="QS-CG-20", department=departments["a"]
    )
    HotlineCodeMap.objects.create(
        account=account, kind="category", code="020329", category=categories["housing"]
    )
    HotlineCodeMap.objects.create(
        account=account, kind="category", code="030529", category=categories["lights"]
    )
    return {"departments": departments, "categories": categories}


def dispatched(client: Client, **fields: Any) -> Ticket:
    response = push(client, order(**fields))
    assert response.status_code == 200, response.content
    return Ticket.objects.get(case_no=response.json()["case_no"])


# --- signing ------------------------------------------------------------------------------------


def test_it_signs_like_the_fixture_platform() -> None:
    fixture = json.loads(
        (
            __import__("pathlib").Path(__file__).resolve().parents[1]
            / "fixtures/channels/hotline.json"
        ).read_text(encoding="utf-8")
    )
    secret = fixture["accounts"][0]["secret"]
    step = fixture["scenarios"][0]["steps"][0]["request"]
    headers = step["headers"]
    assert (
        signing.signature(
            secret,
            headers["X-Hotline-Timestamp"],
            headers["X-Hotline-Nonce"],
            step["body"].encode("utf-8"),
        )
        == headers["X-Hotline-Signature"]
    )


@pytest.mark.parametrize(
    ("timestamp", "nonce", "body", "given_from", "valid"),
    [
        ("1700000000", "n1", b"{}", ("1700000000", "n1", b"{}"), True),
        ("1700000000", "n1", b"{} ", ("1700000000", "n1", b"{}"), False),
        ("1700000001", "n1", b"{}", ("1700000000", "n1", b"{}"), False),
        ("1700000000", "n2", b"{}", ("1700000000", "n1", b"{}"), False),
    ],
)
def test_it_checks_signatures_over_timestamp_nonce_and_body(
    timestamp: str, nonce: str, body: bytes, given_from: tuple[str, str, bytes], valid: bool
) -> None:
    given = signing.signature(SECRET, *given_from)
    assert signing.signature_valid(SECRET, timestamp, nonce, body, given) is valid


def test_it_refuses_upper_case_empty_and_non_ascii_signatures() -> None:
    good = signing.signature(SECRET, "1", "n", b"x")
    assert not signing.signature_valid(SECRET, "1", "n", b"x", good.upper())
    assert not signing.signature_valid(SECRET, "1", "n", b"x", "")
    assert not signing.signature_valid("", "1", "n", b"x", signing.signature("", "1", "n", b"x"))
    assert not signing.signature_valid(SECRET, "1", "n", b"x", "签名")


@pytest.mark.parametrize(
    ("timestamp", "fresh"),
    [("1000", True), ("1300", True), ("700", True), ("1301", False), ("699", False),
     ("", False), ("-5", False), ("1e3", False), ("１０００", False)],
)  # fmt: skip
def test_it_accepts_timestamps_within_300_seconds(timestamp: str, fresh: bool) -> None:
    assert signing.timestamp_fresh(timestamp, now=1000.0) is fresh


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_no": None}, "order_no"),
        ({"order_no": "QS 1"}, "order_no"),
        ({"event": "transfer"}, "event"),
        ({"event": None}, "event"),
        ({"version": None}, "version"),
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
        ({"request_type": "complain"}, "request_type"),
        ({"urgency": "very"}, "urgency"),
        ({"accepted_at": None}, "accepted_at"),
        ({"accepted_at": "12/05/2026"}, "accepted_at"),
        ({"due_at": "tomorrow"}, "due_at"),
        ({"content": "  "}, "content"),
        ({"title": 5}, "title"),
        ({"confidential": "yes"}, "confidential"),
        ({"attachments": [{"name": "a", "url": "ftp://x"}]}, "attachments[0].url"),
        ({"attachments": "a.jpg"}, "attachments"),
    ],
)
def test_it_names_the_bad_field(change: dict[str, Any], field: str) -> None:
    body = order()
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}
    with pytest.raises(HotlineInvalid) as caught:
        order_parse(json.dumps(body).encode())
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}：")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (b"\xff\xfe", "body"),
        (json.dumps({"event": "feedback", "order_no": "A1", "version": 1}).encode(), "feedback"),
        (
            json.dumps(
                {"event": "feedback", "order_no": "A1", "version": 1, "feedback": {}}
            ).encode(),
            "feedback.satisfaction",
        ),
        (
            json.dumps(
                {
                    "event": "feedback",
                    "order_no": "A1",
                    "version": 1,
                    "feedback": {"satisfaction": "ok"},
                }
            ).encode(),
            "satisfaction",
        ),
    ],
)
def test_it_refuses_bodies_that_are_not_orders(body: bytes, field: str) -> None:
    with pytest.raises(HotlineInvalid) as caught:
        order_parse(body)
    assert caught.value.field == field


def test_it_reads_naive_times_as_shanghai_and_keeps_offsets() -> None:
    parsed = order_parse(json.dumps(order(due_at="2026-05-29T18:00:00+08:00")).encode())
    assert parsed.accepted_at == dt.datetime(2026, 5, 12, 9, 41, 27, tzinfo=CHINA)
    assert parsed.due_at == dt.datetime(2026, 5, 29, 10, 0, tzinfo=dt.UTC)
    utc = order_parse(json.dumps(order(accepted_at="2026-05-12T01:41:27Z")).encode())
    assert utc.accepted_at == parsed.accepted_at


def test_it_defaults_an_absent_request_type_and_urgency_and_due_time() -> None:
    parsed = order_parse(json.dumps(order(request_type=None, urgency=None, due_at=None)).encode())
    assert (parsed.request_type, parsed.urgency, parsed.due_at) == ("help", "normal", None)


def test_it_never_takes_a_masked_or_confidential_caller_for_a_person() -> None:
    plain = order_parse(json.dumps(order()).encode())
    masked = order_parse(json.dumps(order(caller_phone="158****2383")).encode())
    secret = order_parse(json.dumps(order(confidential=True)).encode())
    assert caller_id(plain) == "15812872383"
    assert caller_id(masked) == caller_id(secret) == f"order:{ORDER_NO}"
    assert dispatch_message(masked, account=SLUG).phone == ""


def test_it_builds_an_acknowledged_work_order_message() -> None:
    message = dispatch_message(
        order_parse(json.dumps(order()).encode()),
        account=SLUG,
        category_code="housing",
        department_code="b",
    )
    assert message.channel == "hotline" and message.sender_kind == "hotline_caller"
    assert message.acknowledged and not message.may_follow_up
    assert message.external_ref == ORDER_NO
    assert message.address == "青山区工业路铁路桥下"
    assert (message.category_code, message.department_code) == ("housing", "b")
    assert [(a.name, a.url) for a in message.attachments] == [
        ("现场.jpg", "http://files.example/att/1.jpg")
    ]


# --- authentication -----------------------------------------------------------------------------


def test_it_refuses_a_push_without_signature_headers(
    account: ChannelAccount, client: Client
) -> None:
    response = push(client, order(), headers={})
    assert response.status_code == 401
    assert response.json()["code"] != 0
    assert InboundMessage.objects.count() == 0


def test_it_refuses_a_wrong_secret(account: ChannelAccount, client: Client) -> None:
    response = push(client, order(), secret="someone-else")
    assert response.status_code == 401
    assert "签名" in response.json()["message"]
    assert not Ticket.objects.exists() and not InboundMessage.objects.exists()


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_it_refuses_a_timestamp_more_than_300_seconds_away(
    account: ChannelAccount, client: Client, skew: int
) -> None:
    # The clock stands still, so 301 s stays 301 s on a loaded machine (signed timestamps
    # are whole seconds: a moving clock made this test pass a 300.4 s skew now and then).
    moment = float(int(time.time()))
    with time_machine.travel(moment, tick=False):
        response = push(client, order(), now=moment + skew)
    assert response.status_code == 401
    assert not InboundMessage.objects.exists()


def test_it_refuses_a_replayed_nonce_but_only_after_a_good_signature(
    account: ChannelAccount, client: Client, departments: Any
) -> None:
    nonce = f"n-{uuid.uuid4()}"  # the cache may be a shared Redis: never reuse a nonce
    forged = push(client, order(), secret="forger", nonce=nonce)
    assert forged.status_code == 401
    first = push(client, order(), nonce=nonce)  # the forgery did not spend the nonce
    assert first.status_code == 200
    again = push(client, order(event="urge", message="快点"), nonce=nonce)
    assert again.status_code == 401
    assert "nonce" in again.json()["message"]
    other = hotline_account("other-12345")
    assert other.pk != account.pk
    assert push(client, order(), slug="other-12345", nonce=nonce).status_code == 200


def test_it_answers_404_for_an_unknown_account_and_405_for_get(
    account: ChannelAccount, client: Client
) -> None:
    assert push(client, order(), slug="nobody").status_code == 404
    assert client.get(f"/integrations/hotline/{SLUG}/orders").status_code == 405


# --- dispatch -----------------------------------------------------------------------------------


def test_it_opens_an_acknowledged_ticket_with_mapped_department_and_category(
    maps: dict[str, Any], client: Client
) -> None:
    ticket = dispatched(client)
    assert ticket.channel == "hotline" and ticket.channel_account == SLUG
    assert ticket.state == State.ACKNOWLEDGED and ticket.ack_on_time is True
    assert ticket.external_ref == ORDER_NO
    assert ticket.department == maps["departments"]["b"]
    assert ticket.category == maps["categories"]["housing"]
    assert ticket.received_at == dt.datetime(2026, 5, 12, 9, 41, 27, tzinfo=CHINA)
    assert ticket.resolve_due_at == dt.datetime(2099, 5, 29, 18, 0, tzinfo=CHINA)
    assert ticket.request_type == "complaint" and ticket.address == "青山区工业路铁路桥下"
    assert ticket.citizen is not None and ticket.citizen.phone == "15812872383"
    assert list(ticket.attachments.values_list("source_url", "file")) == [
        ("http://files.example/att/1.jpg", "")
    ]
    created = ticket.events.get(kind="created")
    assert "our_resolve_due_at" in created.payload  # the platform's deadline differs from ours
    row = InboundMessage.objects.get()
    assert (row.dedupe_key, row.status, row.ticket_id) == (
        f"{SLUG}:{ORDER_NO}:dispatch:1",
        "processed",
        ticket.pk,
    )


def test_it_opens_a_ticket_without_a_mapping(account: ChannelAccount, client: Client) -> None:
    ticket = dispatched(client, unit_code="UNKNOWN", category_code="999")
    assert ticket.department is None and ticket.category is None


def test_it_answers_a_repeated_push_the_same_and_creates_nothing(
    maps: dict[str, Any], client: Client
) -> None:
    first = push(client, order())
    second = push(client, order())
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"code": 0, "case_no": first.json()["case_no"]}
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert TicketEvent.objects.count() == 1


def test_it_applies_a_redispatch_to_the_same_ticket_and_records_what_changed(
    maps: dict[str, Any], client: Client
) -> None:
    ticket = dispatched(client)
    response = push(
        client,
        order(
            version=2,
            content="来电人补充：排水篦子被垃圾堵死。",
            category_code="030529",
            unit_code="QS-CG-20",
            caller_phone="15052075439",
            due_at="2099-06-05 18:00:00",
            attachments=[
                {"name": "现场.jpg", "url": "http://files.example/att/1.jpg"},
                {"name": "补充.jpg", "url": "http://files.example/att/2.jpg"},
            ],
        ),
    )
    assert response.json() == {"code": 0, "case_no": ticket.case_no}
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.content == "来电人补充：排水篦子被垃圾堵死。"
    assert ticket.category == maps["categories"]["lights"]
    assert ticket.department == maps["departments"]["a"]
    assert ticket.resolve_due_at == dt.datetime(2099, 6, 5, 18, 0, tzinfo=CHINA)
    assert ticket.attachments.count() == 2
    event = ticket.events.get(kind="redispatch")
    assert event.actor_label == "12345平台"
    assert event.payload["version"] == 2 and event.payload["caller_changed"] is True
    assert set(event.payload["changes"]) == {
        "content",
        "category_id",
        "department_id",
        "resolve_due_at",
    }
    assert event.payload["changes"]["content"]["before"].startswith("来电人反映")
    assert "15052075439" not in json.dumps(event.payload)


def test_it_keeps_the_department_that_already_took_the_case(
    maps: dict[str, Any], client: Client, cast: dict[str, Any]
) -> None:
    ticket = dispatched(client)
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=maps["departments"]["b"].pk
    )
    push(client, order(version=2, unit_code="QS-CG-20"))
    ticket.refresh_from_db()
    assert ticket.department == maps["departments"]["b"]
    changes = ticket.events.get(kind="redispatch").payload["changes"]
    assert changes["department_requested"]["after"] == maps["departments"]["a"].pk


def test_it_ignores_a_redispatch_older_than_the_one_applied(
    maps: dict[str, Any], client: Client
) -> None:
    ticket = dispatched(client)
    push(client, order(version=3, content="第三版"))
    late = push(client, order(version=2, content="第二版"))
    assert late.json() == {"code": 0, "case_no": ticket.case_no}
    ticket.refresh_from_db()
    assert ticket.content == "第三版"
    row = InboundMessage.objects.get(dedupe_key=f"{SLUG}:{ORDER_NO}:dispatch:2")
    assert row.status == "ignored" and "不高于" in row.reason


# --- bad bodies ---------------------------------------------------------------------------------


def test_it_answers_400_naming_the_field_and_keeps_the_body_as_rejected(
    account: ChannelAccount, client: Client
) -> None:
    response = push(client, order(request_type="complain"))
    assert response.status_code == 400
    data = response.json()
    assert data["code"] != 0 and data["message"].startswith("request_type：")
    assert "诉求类型" in data["message"]
    assert not Ticket.objects.exists()
    row = InboundMessage.objects.get()
    assert row.status == "rejected" and row.reason == data["message"]
    # The corrected push (same order_no, event and version) is still taken.
    assert push(client, order()).status_code == 200
    assert Ticket.objects.count() == 1


def test_it_answers_400_for_an_event_on_an_unknown_order(
    account: ChannelAccount, client: Client
) -> None:
    response = push(client, order(event="urge", message="请尽快"))
    assert response.status_code == 400
    assert response.json()["message"].startswith("order_no：")
    row = InboundMessage.objects.get()
    assert row.status == "rejected"


# --- urge, supervise, recall, feedback ----------------------------------------------------------


def test_it_turns_an_urge_into_an_event_a_notice_and_a_live_alert(
    maps: dict[str, Any],
    client: Client,
    cast: dict[str, Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    ticket = dispatched(client)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("inbox.all", channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = push(client, order(event="urge", message="来电人再次来电，要求尽快处理。"))
    assert response.json() == {"code": 0, "case_no": ticket.case_no}
    event = ticket.events.get(kind="urge")
    assert event.payload["message"] == "来电人再次来电，要求尽快处理。"
    notice = StaffNotification.objects.get(recipient=cast["supervisor_b"])
    assert notice.kind == "urge" and ticket.case_no in notice.text
    live = async_to_sync(layer.receive)(channel)
    assert (live["kind"], live["ticket_id"]) == ("urge", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.state == State.ACKNOWLEDGED


def test_it_puts_a_supervised_order_under_supervision(maps: dict[str, Any], client: Client) -> None:
    ticket = dispatched(client)
    assert push(client, order(event="supervise", message="市领导批示")).status_code == 200
    ticket.refresh_from_db()
    assert ticket.supervised is True
    assert ticket.events.get(kind="supervise").payload["message"] == "市领导批示"


def test_it_withdraws_a_recalled_order(maps: dict[str, Any], client: Client) -> None:
    ticket = dispatched(client)
    response = push(client, order(event="recall", message="派错单位"))
    assert response.json() == {"code": 0, "case_no": ticket.case_no}
    ticket.refresh_from_db()
    assert ticket.state == State.INVALID and ticket.sla_next_at is None
    event = ticket.events.get(kind="withdraw")
    assert (event.from_state, event.to_state) == ("acknowledged", "invalid")
    assert "派错单位" in event.payload["reason"]
    # A second recall (a new version) of a withdrawn case is a conflict, kept as rejected.
    again = push(client, order(event="recall", version=2, message="再撤"))
    assert again.status_code == 400 and again.json()["code"] != 0
    assert InboundMessage.objects.get(dedupe_key=f"{SLUG}:{ORDER_NO}:recall:2").status == "rejected"


def test_it_opens_a_new_case_when_a_recalled_order_is_dispatched_again(
    maps: dict[str, Any], client: Client
) -> None:
    withdrawn = dispatched(client)
    push(client, order(event="recall", message="派错单位"))
    assert push(client, order()).json()["case_no"] == withdrawn.case_no  # a repeat: nothing new
    again = push(client, order(version=2, content="重新派给本单位"))
    assert again.status_code == 200
    assert again.json()["case_no"] != withdrawn.case_no
    fresh = Ticket.objects.get(case_no=again.json()["case_no"])
    assert (fresh.state, fresh.external_ref) == (State.ACKNOWLEDGED, ORDER_NO)
    push(client, order(event="urge", version=2, message="请尽快"))
    assert fresh.events.filter(kind="urge").count() == 1
    assert not withdrawn.events.filter(kind="urge").exists()


def test_it_lets_only_the_system_and_administrators_withdraw(
    make_ticket: Callable[..., Ticket], cast: dict[str, Any]
) -> None:
    ticket = make_ticket()
    for who in ("dispatcher", "handler_a", "supervisor_a"):
        with pytest.raises((ActionForbidden, TicketNotFound)):
            ticket_withdraw(actor=cast[who], ticket_id=ticket.pk, reason="不要了")
    done = ticket_withdraw(actor=cast["admin"], ticket_id=ticket.pk, reason="平台撤回")
    assert done.state == State.INVALID


def _replied(client: Client, cast: dict[str, Any], maps: dict[str, Any]) -> Ticket:
    ticket = dispatched(client)
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=maps["departments"]["b"].pk
    )
    services.ticket_accept(actor=cast["handler_b"], ticket_id=ticket.pk)
    services.ticket_reply(actor=cast["handler_b"], ticket_id=ticket.pk, content="已疏通排水设施。")
    return ticket


@pytest.mark.parametrize(
    ("satisfaction", "state", "reopens"),
    [("satisfied", State.CLOSED, 0), ("basically_satisfied", State.CLOSED, 0),
     ("unsatisfied", State.IN_PROGRESS, 1)],
)  # fmt: skip
def test_it_closes_or_reopens_on_the_platforms_feedback(
    maps: dict[str, Any],
    client: Client,
    cast: dict[str, Any],
    satisfaction: str,
    state: str,
    reopens: int,
) -> None:
    ticket = _replied(client, cast, maps)
    response = push(
        client,
        order(
            event="feedback",
            feedback={"satisfaction": satisfaction, "resolved": reopens == 0, "comment": "回访"},
        ),
    )
    assert response.json() == {"code": 0, "case_no": ticket.case_no}
    ticket.refresh_from_db()
    assert (ticket.state, ticket.reopen_count) == (state, reopens)
    feedback = ticket.feedback.get()
    assert (feedback.satisfaction, feedback.channel) == (satisfaction, "hotline")


def test_it_refuses_feedback_before_a_reply(maps: dict[str, Any], client: Client) -> None:
    dispatched(client)
    response = push(client, order(event="feedback", feedback={"satisfaction": "satisfied"}))
    assert response.status_code == 400
    assert "已答复" in response.json()["message"]


# --- admin --------------------------------------------------------------------------------------


def test_it_checks_that_a_code_map_points_at_the_right_thing(
    account: ChannelAccount, departments: dict[str, Department], categories: dict[str, Category]
) -> None:
    unit_without_department = HotlineCodeMapForm(
        data={
            "account": account.pk,
            "kind": "unit",
            "code": "X1",
            "category": categories["lights"].pk,
        }
    )
    assert not unit_without_department.is_valid()
    assert set(unit_without_department.errors) == {"department", "category"}
    good = HotlineCodeMapForm(
        data={
            "account": account.pk,
            "kind": "category",
            "code": " 0101 ",
            "category": categories["lights"].pk,
        }
    )
    assert good.is_valid(), good.errors
    assert good.save().code == "0101"


def test_it_lists_code_maps_in_the_admin_filtered_by_account_and_kind(
    maps: dict[str, Any], client: Client, cast: dict[str, Any]
) -> None:
    hotline_account("other-12345")  # with one account only, Django hides that filter
    client.force_login(cast["admin"])
    url = reverse("admin:integrations_hotlinecodemap_changelist")
    response = client.get(url, {"kind__exact": "unit"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "QS-ZJ-86" in text and "QS-CG-20" in text and "020329" not in text
    assert "承办单位代码" in text
    filters = [
        " ".join(title.split()) for title in re.findall(r"<summary>(.*?)</summary>", text, re.S)
    ]
    assert filters == ["以 12345 平台账号", "以 类型"]
    add = client.get(reverse("admin:integrations_hotlinecodemap_add"))
    assert add.status_code == 200
    row = HotlineCodeMap.objects.get(code="QS-ZJ-86")
    change = client.get(reverse("admin:integrations_hotlinecodemap_change", args=[row.pk]))
    assert change.status_code == 200 and "对应部门" in change.content.decode()
