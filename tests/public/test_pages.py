"""Public pages: only published, redacted records; figures per specs/metrics.md; feed; CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import walk
from tickets import publication
from tickets.models import Feedback, Ticket
from tickets.models_public import PublicRecord
from tickets.public.figures import Rate, department_figures
from tickets.public.months import month_bounds

pytestmark = pytest.mark.django_db
Status = PublicRecord.Status
PERSONAL = "我叫王建国，电话13812345678，住幸福小区3栋2单元501室，楼下路灯坏了。"
ATOM = "{http://www.w3.org/2005/Atom}"


def replied(make_ticket: Any, cast: dict, departments: dict, text: str, **fields: Any) -> Ticket:
    return walk(make_ticket(text, **fields), cast, departments, "replied")


def decide(record: PublicRecord, cast: dict, action: str, reason: str = "") -> PublicRecord:
    return publication.public_record_review(
        actor=cast["dispatcher"], record_id=record.pk, action=action, reason=reason
    )


@pytest.fixture
def records(make_ticket: Any, cast: dict, departments: dict, categories: dict) -> dict:
    plain = replied(
        make_ticket, cast, departments, "建设路路灯坏了一个多星期。", category_code="lights"
    )
    personal = replied(
        make_ticket, cast, departments, PERSONAL, sender_name="王建国", category_code="lights"
    )
    withheld = replied(make_ticket, cast, departments, "张某某在小区门口骂人。")
    secret = replied(make_ticket, cast, departments, PERSONAL, confidential=True)
    pending = replied(make_ticket, cast, departments, "李女士家楼上漏水。")
    out = {
        name: PublicRecord.objects.get(ticket=ticket)
        for name, ticket in [
            ("plain", plain),
            ("personal", personal),
            ("withheld", withheld),
            ("secret", secret),
            ("pending", pending),
        ]
    }
    out["personal"] = decide(out["personal"], cast, "approve")
    out["withheld"] = decide(out["withheld"], cast, "withhold", "涉及纠纷当事人")
    assert out["plain"].status == out["secret"].status == Status.PUBLISHED
    assert out["pending"].status == Status.PENDING
    return out


def test_it_lists_only_published_records_without_personal_data(
    client: Client, records: dict
) -> None:
    response = client.get("/public/")
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("plain", "personal", "secret"):
        assert records[name].public_id in html
    for name in ("withheld", "pending"):
        assert records[name].public_id not in html
    assert "13812345678" not in html and "王建国" not in html and "501室" not in html
    assert "[电话]" in html and "（保密件，不公开内容）" in html
    assert records["plain"].ticket.case_no not in html


def test_it_searches_and_filters(client: Client, records: dict, departments: dict) -> None:
    def listed(**params: str) -> set[str]:
        html = client.get("/public/", params).content.decode()
        return {name for name, record in records.items() if record.public_id in html}

    assert listed(q="建设路") == {"plain"}
    assert listed(q="13812345678") == set()  # the original text is not searchable
    assert listed(category="lights") == {"plain", "personal"}
    assert listed(department="a") == {"plain", "personal", "secret"}
    assert listed(department="b") == set()
    assert listed(month=timezone.localdate().strftime("%Y-%m")) == {"plain", "personal", "secret"}
    assert listed(month="2001-01") == set()
    assert listed(on_time="1") == {"plain", "personal", "secret"}
    assert listed(on_time="0") == set()
    assert client.get("/public/", {"month": "bad", "page": "x"}).status_code == 200


def test_it_searches_the_words_category_department_and_public_id(
    client: Client, records: dict
) -> None:
    def listed(q: str) -> set[str]:
        html = client.get("/public/", {"q": q}).content.decode()
        return {name for name, record in records.items() if record.public_id in html}

    assert listed("路灯") == {"plain", "personal"}  # in the text, or the category's name
    assert listed("路灯 星期") == {"plain"}  # every word must be there
    assert listed("  星期   建设路 ") == {"plain"}
    assert listed("城管局") == {"plain", "personal", "secret"}  # the department
    assert listed(records["personal"].public_id) == {"personal"}
    assert listed("漏水") == set()  # only in a record still waiting for review
    html = client.get("/public/", {"q": "路灯 星期"}).content.decode()
    assert "搜索“路灯 星期”：共 1 件" in html
    none = client.get("/public/", {"q": "不存在的词"}).content.decode()
    assert "没有符合条件的公开记录" in none and "共 0 件" in none


def test_it_never_finds_a_record_by_the_part_of_its_address_it_does_not_show(
    client: Client, make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = replied(make_ticket, cast, departments, "路灯坏了一个多星期。", address="建设路88号")
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.status == Status.PUBLISHED
    assert record.public_id in client.get("/public/", {"q": "路灯"}).content.decode()
    assert record.public_id not in client.get("/public/", {"q": "88号"}).content.decode()


def test_it_shows_a_record_by_its_public_id_only(client: Client, records: dict) -> None:
    page = client.get(f"/public/cases/{records['personal'].public_id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "我叫[姓名]，电话[电话]，住幸福小区[地址]，楼下路灯坏了。" in html
    assert "已安排维修，路灯已恢复。" in html and "按时办结" in html
    secret = client.get(f"/public/cases/{records['secret'].public_id}/").content.decode()
    assert "保密件" in secret and "路灯坏了" not in secret and "城管局" in secret
    for name in ("withheld", "pending"):
        assert client.get(f"/public/cases/{records[name].public_id}/").status_code == 404
    ticket = records["plain"].ticket
    assert client.get(f"/public/cases/{ticket.case_no}/").status_code == 404
    assert client.get(f"/public/cases/{records['plain'].pk}/").status_code == 404


def test_it_publishes_an_atom_feed(client: Client, records: dict) -> None:
    response = client.get("/public/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    links = {entry.find(f"{ATOM}link").get("href") for entry in entries}
    assert any(records["personal"].public_id in link for link in links)
    assert b"13812345678" not in response.content


def test_it_exports_a_month_as_csv(client: Client, records: dict) -> None:
    month = timezone.localdate().strftime("%Y-%m")
    response = client.get(f"/public/data/{month}.csv")
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {row["公开编号"] for row in rows} == {
        records[name].public_id for name in ("plain", "personal", "secret")
    }
    personal = next(row for row in rows if row["公开编号"] == records["personal"].public_id)
    assert personal["诉求内容"].startswith("我叫[姓名]") and personal["是否按时办结"] == "是"
    assert personal["承办部门"] == "城管局" and personal["办理状态"] == "已答复"
    # Beijing time to the second, as a spreadsheet reads a date-time.
    received = timezone.localtime(records["personal"].received_at)
    assert personal["收到时间"] == received.strftime("%Y-%m-%d %H:%M:%S")
    for row in rows:
        for column in ("收到时间", "答复时间"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[column]), row[column]
    assert "13812345678" not in body and "王建国" not in body
    assert client.get("/public/data/2024-13.csv").status_code == 404
    assert month in client.get("/public/data/").content.decode()


def test_open_data_never_hands_a_spreadsheet_a_formula_or_xml_a_control_character(
    client: Client, make_ticket: Any, cast: dict, departments: dict
) -> None:
    formula = replied(make_ticket, cast, departments, '=HYPERLINK("http://x")路灯坏了\x0b一周。')
    record = PublicRecord.objects.get(ticket=formula)
    assert record.status == Status.PUBLISHED and "\x0b" not in record.content
    month = timezone.localdate().strftime("%Y-%m")
    body = b"".join(client.get(f"/public/data/{month}.csv").streaming_content).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(body)))
    assert row["诉求内容"].startswith("'=HYPERLINK")
    feed = client.get("/public/feed/")
    assert feed.status_code == 200
    ET.fromstring(feed.content)  # well-formed XML


def test_it_shows_department_figures_per_the_metrics_spec(
    client: Client, records: dict, cast: dict, departments: dict, make_ticket: Any
) -> None:
    # One more ticket, still open and not yet due; one feedback: 满意.
    walk(make_ticket("井盖丢了。"), cast, departments, "in_progress")
    personal = records["personal"].ticket
    Feedback.objects.create(ticket=personal, satisfaction="satisfied", created_at=timezone.now())
    start, end = month_bounds(timezone.localdate().year, timezone.localdate().month)
    figures = department_figures(start=start, end=end)
    total, rows = figures[0], figures[1:]
    assert total.received == 6
    # The withheld and the pending record count like any other ticket.
    assert (total.reply_rate.numerator, total.reply_rate.denominator) == (5, 6)
    assert (total.on_time_rate.numerator, total.on_time_rate.denominator) == (5, 5)
    assert (total.satisfaction_rate.numerator, total.satisfaction_rate.denominator) == (1, 1)
    assert [(row.name, row.received) for row in rows] == [("城管局", 6)]
    assert rows[0].reply_rate.display == "83.3%" and rows[0].reply_rate.small_sample

    html = client.get("/public/stats/").content.decode()
    assert "城管局" in html and "83.3%" in html and "样本不足" in html
    assert "不予公开 1 件" in html
    empty = client.get("/public/stats/", {"month": "2001-01"}).content.decode()
    assert "本月暂无数据" in empty and "—" in empty


def test_it_shows_a_dash_for_a_rate_without_denominator() -> None:
    assert Rate(0, 0).display == "—"
    assert Rate(0, 4).display == "0.0%"
    assert Rate(3, 3).display == "100.0%"
    assert Rate(1, 9).small_sample and not Rate(1, 10).small_sample
    assert not Rate(0, 0).small_sample


def test_it_shows_a_replied_demo_case_after_approval_and_in_open311(
    client: Client, settings: Any
) -> None:
    """The demo district: records wait for review; one approved case is public everywhere."""
    from django.core.management import call_command

    settings.PUBLIC_AUTO_PUBLISH = False
    call_command("load_demo", stdout=io.StringIO())
    replied = Ticket.objects.filter(state__in=["replied", "closed"], confidential=False)
    assert (
        PublicRecord.objects.count()
        == replied.count()
        + Ticket.objects.filter(state__in=["replied", "closed"], confidential=True).count()
    )
    assert not PublicRecord.objects.filter(status=Status.PUBLISHED).exists()
    ticket = replied.exclude(citizen__name="").select_related("citizen").order_by("pk").first()
    assert ticket is not None
    record = PublicRecord.objects.get(ticket=ticket)
    assert client.get(f"/public/cases/{record.public_id}/").status_code == 404
    assert client.get(f"/open311/v2/requests/{record.public_id}.json").status_code == 404

    from django.contrib.auth import get_user_model

    supervisor = get_user_model().objects.get(username="dispatcher")
    publication.public_record_review(actor=supervisor, record_id=record.pk, action="approve")

    html = client.get("/public/").content.decode()
    assert record.public_id in html
    detail = client.get(f"/public/cases/{record.public_id}/").content.decode()
    assert record.reply and record.reply in detail
    assert ticket.citizen.name not in detail and ticket.citizen.phone not in detail
    item = client.get(f"/open311/v2/requests/{record.public_id}.json").json()[0]
    assert item["description"] == record.content and item["status"] == "closed"
    start = ticket.received_at.date().isoformat()
    listed = client.get("/open311/v2/requests.json", {"start_date": start}).json()
    assert [entry["service_request_id"] for entry in listed] == [record.public_id]
