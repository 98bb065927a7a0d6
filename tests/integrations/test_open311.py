"""Open311 GeoReport v2: raw HTTP through Django's client, and a real client library
(``georeport``, GET only) plus a minimal ``requests`` POST against a live server."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from integrations.models import InboundMessage
from tests.conftest import walk
from tickets import publication
from tickets.models import Category, Ticket
from tickets.models_public import Open311ApiKey, PublicRecord

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"


@pytest.fixture
def api_key(db: Any) -> str:
    _key, raw = Open311ApiKey.issue(name="测试客户端")
    return raw


def post(client: Client, fmt: str = "json", **fields: str) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", fields)


def test_it_describes_itself_in_json_and_xml(client: Client) -> None:
    data = client.get(f"{BASE}/discovery.json").json()
    assert data["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert data["endpoints"][0]["url"].endswith("/open311/v2/")
    assert "text/xml" in data["endpoints"][0]["formats"]
    root = ET.fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]


def test_it_lists_active_categories_as_services(client: Client, categories: dict) -> None:
    Category.objects.create(code="old", name="旧分类", active=False)
    services = client.get(f"{BASE}/services.json").json()
    assert [s["service_code"] for s in services] == ["housing", "lights"]
    assert services[1] == {
        "service_code": "lights",
        "service_name": "路灯",
        "description": "路灯",
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": "路灯",
    }
    response = client.get(f"{BASE}/services.xml")
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "services"
    assert [s.findtext("service_name") for s in root.findall("service")] == ["物业", "路灯"]
    assert root.find("service/metadata").text == "true"


def test_it_defines_the_request_type_attribute(client: Client, categories: dict) -> None:
    definition = client.get(f"{BASE}/services/lights.json").json()
    attribute = definition["attributes"][0]
    assert definition["service_code"] == "lights" and attribute["code"] == "request_type"
    assert {"key": "complaint", "name": "投诉"} in attribute["values"]
    root = ET.fromstring(client.get(f"{BASE}/services/lights.xml").content)
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute/values/value/key") == "consult"
    missing = client.get(f"{BASE}/services/nope.json")
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "没有这个服务分类：nope"}]


def test_it_refuses_a_post_without_a_valid_key(client: Client, categories: dict) -> None:
    for key in ("", "o311_wrong"):
        response = post(client, api_key=key, service_code="lights", description="路灯坏了")
        assert response.status_code == 403
        assert response.json()[0]["code"] == 403
    key, raw = Open311ApiKey.issue(name="停用")
    key.active = False
    key.save()
    assert (
        post(client, api_key=raw, service_code="lights", description="路灯坏了").status_code == 403
    )
    assert not InboundMessage.objects.exists() and not Ticket.objects.exists()


def test_it_creates_a_case_through_the_journal_and_intake(
    client: Client, categories: dict, api_key: str
) -> None:
    response = post(
        client,
        api_key=api_key,
        service_code="lights",
        description="建设路路灯坏了一个多星期，晚上很黑。",
        lat="30.612345",
        long="114.301234",
        address_string="建设路与青山大道交叉口",
        phone="13812345678",
        first_name="小红",
        last_name="刘",
        media_url="https://example.org/photo.jpg",
        **{"attribute[request_type]": "complaint"},
    )
    assert response.status_code == 200, response.content
    created = response.json()[0]
    # Known by its public id (as /public/ will show it), never by the sequential case number.
    ticket = Ticket.objects.get(public_id=created["service_request_id"])
    assert created["service_request_id"] != ticket.case_no
    assert ticket.channel == "open311" and ticket.category == categories["lights"]
    assert ticket.request_type == "complaint" and ticket.state == "new"
    assert ticket.citizen.name == "刘小红" and ticket.citizen.phone == "13812345678"
    assert str(ticket.latitude) == "30.612345"
    assert ticket.attachments.get().source_url == "https://example.org/photo.jpg"
    assert created["service_notice"].startswith("您的诉求已收到")
    inbound = InboundMessage.objects.get(channel="open311")
    assert inbound.status == "processed" and inbound.ticket == ticket
    assert api_key.encode() not in bytes(inbound.raw_body)
    assert b"service_code=lights" in bytes(inbound.raw_body)
    assert Open311ApiKey.objects.get().last_used_at is not None

    by_token = client.get(f"{BASE}/tokens/{created['token']}.json").json()
    assert by_token == [{"service_request_id": ticket.public_id, "token": created["token"]}]
    read_back = client.get(f"{BASE}/requests/{created['service_request_id']}.json")
    assert read_back.status_code == 200
    assert read_back.json()[0]["service_request_id"] == ticket.public_id
    assert client.get(f"{BASE}/tokens/nope.json").status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": "路灯坏了"}, "缺少 service_code"),
        ({"service_code": "nope", "description": "路灯坏了"}, "service_code 无效"),
        ({"service_code": "lights"}, "缺少 description"),
        ({"service_code": "lights", "description": "x", "lat": "30.1"}, "必须同时提供"),
        ({"service_code": "lights", "description": "x", "lat": "a", "long": "1"}, "不是有效的数字"),
        ({"service_code": "lights", "description": "x", "phone": "12345"}, "phone"),
        ({"service_code": "lights", "description": "x", "email": "nobody"}, "email"),
        (
            {"service_code": "lights", "description": "x", "attribute[request_type]": "x"},
            "request_type",
        ),
    ],
)
def test_it_rejects_bad_input_with_a_reason_and_keeps_it(
    client: Client, categories: dict, api_key: str, fields: dict, message: str
) -> None:
    response = post(client, api_key=api_key, **fields)
    assert response.status_code == 400
    error = response.json()[0]
    assert error["code"] == 400 and message in error["description"]
    inbound = InboundMessage.objects.get(channel="open311")
    assert inbound.status == "rejected" and message in inbound.reason
    assert not Ticket.objects.exists()


def test_it_answers_a_bad_post_in_xml(client: Client, categories: dict, api_key: str) -> None:
    response = post(client, "xml", api_key=api_key, service_code="nope", description="x")
    assert response.status_code == 400
    root = ET.fromstring(response.content)
    assert root.tag == "errors" and root.findtext("error/code") == "400"


def _published(make_ticket: Any, cast: dict, departments: dict, text: str) -> Ticket:
    ticket = walk(
        make_ticket(
            text,
            category_code="lights",
            address="青山区建设路88号幸福小区3栋2单元501室",
            latitude=Decimal("30.612345"),
            longitude=Decimal("114.301789"),
        ),
        cast,
        departments,
        "replied",
    )
    record = PublicRecord.objects.get(ticket=ticket)
    if record.status != PublicRecord.Status.PUBLISHED:
        publication.public_record_review(
            actor=cast["dispatcher"], record_id=record.pk, action="approve"
        )
    return ticket


def test_it_shows_only_redacted_text_of_a_published_case(
    client: Client, make_ticket: Any, cast: dict, departments: dict, categories: dict
) -> None:
    ticket = _published(make_ticket, cast, departments, "我叫王建国，电话13812345678，路灯坏了。")
    item = client.get(f"{BASE}/requests/{ticket.public_id}.json").json()[0]
    assert item["service_request_id"] == ticket.public_id
    assert item["status"] == "closed"
    assert item["description"] == "我叫[姓名]，电话[电话]，路灯坏了。"
    assert item["status_notes"] == "已安排维修，路灯已恢复。"
    # The street, not the door; coordinates to about 100 m.
    assert item["address"] == "青山区建设路"
    assert (item["lat"], item["long"]) == (30.612, 114.302)
    assert item["agency_responsible"] == "城管局" and item["service_code"] == "lights"
    assert item["requested_datetime"].endswith("+08:00")
    assert dt.datetime.fromisoformat(item["expected_datetime"]) == ticket.resolve_due_at
    raw = client.get(f"{BASE}/requests/{ticket.public_id}.xml").content.decode()
    assert "13812345678" not in raw and "王建国" not in raw
    assert ticket.case_no not in raw and "88号" not in raw
    root = ET.fromstring(raw)
    assert root.tag == "service_requests" and root.findtext("request/status") == "closed"


def test_it_reveals_nothing_of_an_unpublished_case_filed_elsewhere(
    client: Client, make_ticket: Any, categories: dict
) -> None:
    ticket = make_ticket("我叫王建国，电话13812345678，路灯坏了。", category_code="lights")
    for known_as in (ticket.public_id, ticket.case_no):
        assert client.get(f"{BASE}/requests/{known_as}.json").status_code == 404
        listed = client.get(f"{BASE}/requests.json", {"service_request_id": known_as})
        assert listed.json() == []


def test_it_shows_a_case_filed_through_open311_without_its_text(
    client: Client, make_ticket: Any, categories: dict
) -> None:
    ticket = make_ticket(
        "我叫王建国，电话13812345678，路灯坏了。", category_code="lights", channel="open311"
    )
    item = client.get(f"{BASE}/requests/{ticket.public_id}.json").json()[0]
    assert item["status"] == "open" and item["description"] == "" and item["address"] == ""
    assert item["service_name"] == "路灯" and item["lat"] is None
    assert client.get(f"{BASE}/requests/20990101000001.json").status_code == 404
    assert client.get(f"{BASE}/requests/{ticket.case_no}.json").status_code == 404


def test_it_lists_published_cases_with_filters(
    client: Client, make_ticket: Any, cast: dict, departments: dict, categories: dict
) -> None:
    shown = _published(make_ticket, cast, departments, "建设路路灯坏了。")
    hidden = walk(make_ticket("王先生说路灯坏了。"), cast, departments, "replied")
    assert PublicRecord.objects.get(ticket=hidden).status == "pending_review"
    make_ticket("还没答复的路灯问题。", category_code="lights")

    def ids(**params: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json", params)
        assert response.status_code == 200, response.content
        return [item["service_request_id"] for item in response.json()]

    shown_id = PublicRecord.objects.get(ticket=shown).public_id
    assert shown_id == shown.public_id
    assert ids() == [shown_id]
    assert ids(service_code="lights") == [shown_id]
    assert ids(service_code="housing") == []
    assert ids(status="closed") == [shown_id]
    assert ids(status="open") == []
    today = timezone.localdate()
    assert ids(start_date=(today - dt.timedelta(days=1)).isoformat()) == [shown_id]
    assert ids(end_date=(today - dt.timedelta(days=5)).isoformat()) == []
    # Listed ids override the other filters; an unpublished case stays invisible.
    assert ids(service_request_id=f"{hidden.public_id},{shown_id}", status="open") == [shown_id]
    assert ids(service_request_id=shown.case_no) == []
    root = ET.fromstring(client.get(f"{BASE}/requests.xml").content)
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [shown_id]
    assert shown.case_no not in client.get(f"{BASE}/requests.json").content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "2024-01-01", "end_date": "2024-06-01"}, "90"),
        ({"start_date": "yesterday"}, "ISO 8601"),
        ({"start_date": "2024-06-02", "end_date": "2024-06-01"}, "ISO 8601"),
        ({"status": "pending"}, "status"),
    ],
)
def test_it_refuses_bad_filters(client: Client, params: dict, message: str) -> None:
    response = client.get(f"{BASE}/requests.json", params)
    assert response.status_code == 400
    assert message in response.json()[0]["description"]


def test_it_answers_unknown_paths_with_an_error_list(client: Client) -> None:
    response = client.get(f"{BASE}/nothing.json")
    assert response.status_code == 404 and response.json()[0]["code"] == 404
    assert ET.fromstring(client.get(f"{BASE}/nothing").content).tag == "errors"


# --- a real client library against a live server -----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_works_with_an_open311_client_library(live_server: Any) -> None:
    """``georeport`` (PyPI) reads; it has no POST, so a minimal ``requests`` call creates.

    The ``open311`` and ``three`` packages on PyPI are Python 2 only and do not import."""
    import requests
    from georeport import GeoReport

    Category.objects.create(code="lights", name="路灯")
    _key, raw = Open311ApiKey.issue(name="georeport")
    root = f"{live_server.url}/open311/v2"

    for fmt in ("json", "xml"):
        client = GeoReport(root, output_format=fmt)
        services = client.get_service_list()
        service = services if isinstance(services, dict) else services[0]
        assert service["service_code"] == "lights"
        assert client.get_service_definition("lights")["service_code"] == "lights"

    created = requests.post(
        f"{root}/requests.json",
        data={"api_key": raw, "service_code": "lights", "description": "路灯坏了，很危险。"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    public_id = created.json()[0]["service_request_id"]
    assert Ticket.objects.filter(public_id=public_id, channel="open311").exists()

    for fmt in ("json", "xml"):
        client = GeoReport(root, output_format=fmt)
        request = client.get_service_request(public_id)
        assert request["service_request_id"] == public_id
        assert request["status"] == "open" and request["service_code"] == "lights"
    listed = GeoReport(root).get_service_requests(service_request_id=public_id)
    assert [item["service_request_id"] for item in listed] == [public_id]
    assert json.dumps(listed, ensure_ascii=False).count("路灯坏了") == 0  # not reviewed yet


# --- Open311 speaks like /public/ --------------------------------------------------------


def test_it_gives_a_case_the_same_id_and_location_as_the_public_pages(
    client: Client, make_ticket: Any, cast: dict, departments: dict, categories: dict
) -> None:
    ticket = _published(make_ticket, cast, departments, "建设路路灯坏了一个多星期。")
    record = PublicRecord.objects.get(ticket=ticket)
    page = client.get(f"/public/cases/{record.public_id}/").content.decode()
    item = client.get(f"{BASE}/requests/{record.public_id}.json").json()[0]
    assert item["service_request_id"] == record.public_id == ticket.public_id
    assert record.public_id in page and ticket.case_no not in page
    assert item["address"] == "青山区建设路"
    assert '<dt>地点</dt><dd class="location">青山区建设路' in page
    assert f"{item['lat']}, {item['long']}" in page
    assert "88号" not in page and "501" not in page


def test_a_request_filed_through_open311_keeps_its_id_once_published(
    client: Client, categories: dict, api_key: str, cast: dict, departments: dict
) -> None:
    created = post(
        client,
        api_key=api_key,
        service_code="lights",
        description="建设路路灯坏了一个多星期，晚上很黑。",
        address_string="青山区建设路12号",
    ).json()[0]
    public_id = created["service_request_id"]
    ticket = walk(Ticket.objects.get(public_id=public_id), cast, departments, "replied")
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.public_id == public_id
    if record.status != PublicRecord.Status.PUBLISHED:
        publication.public_record_review(
            actor=cast["dispatcher"], record_id=record.pk, action="approve"
        )
    item = client.get(f"{BASE}/requests/{public_id}.json").json()[0]
    assert item["status"] == "closed" and item["address"] == "青山区建设路"
    assert client.get(f"/public/cases/{public_id}/").status_code == 200


def test_a_confidential_case_shows_no_location_anywhere(
    client: Client, make_ticket: Any, cast: dict, departments: dict, categories: dict
) -> None:
    ticket = walk(
        make_ticket(
            "建设路路灯坏了一个多星期。",
            category_code="lights",
            address="青山区建设路88号",
            latitude=Decimal("30.612345"),
            longitude=Decimal("114.301789"),
            confidential=True,
        ),
        cast,
        departments,
        "replied",
    )
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.status == PublicRecord.Status.PUBLISHED
    item = client.get(f"{BASE}/requests/{record.public_id}.json").json()[0]
    assert (item["address"], item["lat"], item["long"]) == ("", None, None)
    page = client.get(f"/public/cases/{record.public_id}/").content.decode()
    assert "建设路" not in page and "30.61" not in page


def test_the_fill_migration_gives_existing_cases_their_public_ids(
    make_ticket: Any, cast: dict, departments: dict, categories: dict
) -> None:
    import importlib

    from django.apps import apps

    fill = importlib.import_module("tickets.migrations.0010_ticket_public_id_fill").fill
    published = _published(make_ticket, cast, departments, "建设路路灯坏了。")
    filed = make_ticket("路灯坏了，很危险。", category_code="lights", channel="open311")
    other = make_ticket("路灯坏了，很危险。", category_code="lights")
    # As they were before the column: no public id on any ticket.
    Ticket.objects.update(public_id=None)
    fill(apps, None)
    record_id = PublicRecord.objects.get(ticket=published).public_id
    assert Ticket.objects.get(pk=published.pk).public_id == record_id
    assert Ticket.objects.get(pk=filed.pk).public_id
    assert Ticket.objects.get(pk=other.pk).public_id is None


def test_its_root_answers_with_an_index_of_the_interface(client: Client, categories: dict) -> None:
    response = client.get(f"{BASE}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Open311 GeoReport v2 接口" in html
    for link in ("discovery.xml", "services.json", "requests.json"):
        assert f'href="{link}"' in html
        assert client.get(f"{BASE}/{link}").status_code == 200
    assert "共 2 类" in html
    assert client.get(f"{BASE}/nothing").status_code == 404
