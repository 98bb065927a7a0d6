"""The dashboard pages: same figures as the metrics module, permissions, pickers, CSV,
report archive downloads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from dashboards import metrics
from dashboards.metrics import Period
from dashboards.models import MonthlyReport
from tests.dashboards.conftest import at

MARCH = Period.month(2026, 3)
NOW = at("2026-04-01 02:00")


@pytest.fixture
def april(time_machine):
    time_machine.move_to(NOW, tick=False)


def _login(client, user):
    client.force_login(user)
    return client


def test_it_shows_leadership_the_same_figures_as_the_metrics_module(client, cast, march, april):
    response = _login(client, cast["leadership"]).get("/dashboards/?month=2026-03")
    assert response.status_code == 200
    html = response.content.decode()
    figures = metrics.figures(period=MARCH, as_of=NOW)
    summary = response.context["summary"]
    assert summary == figures
    for key, label, _kind in metrics.FIGURES:
        assert label in html
        assert f'<td class="num" data-summary>{figures.display(key)}</td>' in html, key
    assert "66.7%" in html and "4/6" in html  # 及时受理率
    assert "2026年3月" in html
    cards = {card["key"]: card["value"] for card in response.context["cards"]}
    assert cards["reply_rate"] == "50.0%" and cards["on_time_rate"] == "40.0%"
    assert cards["overdue_now"] == "3"  # t3, t5 and February's t8, open past their deadlines
    assert "样本不足" in html  # every department has fewer than 10 tickets
    assert "dashboards/vendor/echarts.min.js" in html
    assert 'id="dashboard-data"' in html


def test_it_lets_dispatchers_and_admins_see_the_city(client, cast, march, april):
    for user in ("dispatcher", "admin"):
        response = _login(client, cast[user]).get("/dashboards/?month=2026-03")
        assert response.status_code == 200
        assert response.context["summary"].received == 6


def test_it_shows_handlers_only_their_departments_figures(client, cast, march, april):
    response = _login(client, cast["handler_b"]).get("/dashboards/?month=2026-03")
    assert response.status_code == 200
    assert response.context["summary"].received == 1
    labels = [row.figures.label for row in response.context["league"]]
    assert labels == ["住建局"]
    assert 'name="department"' not in response.content.decode()  # nothing to pick
    # Another department's dashboard is refused, not silently replaced by their own.
    department_a = march["t1"].department_id
    response = client.get(f"/dashboards/?month=2026-03&department={department_a}")
    assert response.status_code == 403
    assert "您只能查看本部门（住建局）的看板。" in response.content.decode()


def test_it_refuses_people_without_a_role(client, cast):
    assert client.get("/dashboards/").status_code == 302  # to the login page
    response = _login(client, cast["outsider"]).get("/dashboards/")
    assert response.status_code == 403
    assert "无权查看" in response.content.decode()


def test_it_narrows_to_a_picked_department_and_period(client, cast, march, april, departments):
    client = _login(client, cast["leadership"])
    response = client.get(f"/dashboards/?month=2026-03&department={departments['a'].pk}")
    assert response.context["summary"].received == 4
    response = client.get("/dashboards/?from=2026-03-01&to=2026-03-05")
    assert response.context["summary"].received == 3  # t1, t2, t5
    assert "2026-03-01 至 2026-03-05" in response.content.decode()


def test_it_survives_nonsense_in_the_pickers(client, cast, april):
    client = _login(client, cast["leadership"])
    for query in ("month=2026-13", "month=abc", "from=2026-03-09&to=2026-03-01",
                  "department=x", "rank=drop table", "department=999999"):  # fmt: skip
        response = client.get(f"/dashboards/?{query}")
        assert response.status_code == 200, query
    assert "月份「abc」无效" in client.get("/dashboards/?month=abc").content.decode()


def test_it_downloads_every_table_as_csv(client, cast, march, april):
    client = _login(client, cast["leadership"])
    for table in (
        "summary",
        "departments",
        "channels",
        "categories",
        "request_types",
        "trend",
        "breaches",
    ):
        response = client.get(f"/dashboards/csv/{table}/?month=2026-03")
        assert response.status_code == 200, table
        assert response["Content-Type"].startswith("text/csv")
        body = response.content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(body)))
        assert len(rows) >= 2, table
    summary = list(
        csv.reader(
            io.StringIO(
                client.get("/dashboards/csv/summary/?month=2026-03").content.decode("utf-8-sig")
            )
        )
    )
    header, values = summary
    row = dict(zip(header, values, strict=True))
    assert row["受理量"] == "6" and row["回复率"] == "50.0%"
    assert (row["回复率分子"], row["回复率分母"]) == ("3", "6")
    assert row["满意率"] == "66.7%" and row["办结用时中位数（工作日）"] == "1.0"
    departments = client.get("/dashboards/csv/departments/?month=2026-03").content.decode(
        "utf-8-sig"
    )
    assert "样本不足" in departments and "未派单" in departments
    breaches = client.get("/dashboards/csv/breaches/").content.decode("utf-8-sig")
    assert march["t3"].case_no in breaches and march["t1"].case_no not in breaches
    header, *lines = list(csv.reader(io.StringIO(breaches)))
    for line in lines:
        for column in ("收到时间", "受理时限", "办结时限"):
            value = line[header.index(column)]
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value), value
    assert client.get("/dashboards/csv/nothing/").status_code == 404


def test_it_lists_reports_and_serves_them_only_to_citywide_viewers(
    client, cast, settings, tmp_path
):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}  # fmt: skip
    name = default_storage.save("reports/2026-03.pdf", ContentFile(b"%PDF-1.7 test"))
    MonthlyReport.objects.create(month=dt.date(2026, 3, 1), status="done", progress=100,
                                 file=name, as_of=NOW)  # fmt: skip
    client = _login(client, cast["leadership"])
    page = client.get("/dashboards/reports/").content.decode()
    assert "2026年3月" in page and "/dashboards/reports/2026-03/download/" in page
    response = client.get("/dashboards/reports/2026-03/download/")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert "private" in response["Cache-Control"]
    _login(client, cast["handler_a"])
    assert client.get("/dashboards/reports/2026-03/download/").status_code == 404
    assert client.get("/dashboards/reports/").status_code == 403
    assert client.get("/dashboards/reports/2099-01/download/").status_code == 404


def test_it_queues_a_regeneration_and_reports_its_progress(client, cast, april):
    client = _login(client, cast["leadership"])
    response = client.post("/dashboards/reports/request/", {"month": "2026-03"},
                           HTTP_ACCEPT="application/json")  # fmt: skip
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    status = client.get("/dashboards/reports/2026-03/status/").json()
    assert (status["status"], status["progress"], status["download"]) == ("pending", 0, None)
    assert client.post("/dashboards/reports/request/", {"month": "2030-01"}).status_code == 302
    assert not MonthlyReport.objects.filter(month=dt.date(2030, 1, 1)).exists()
    _login(client, cast["dispatcher"])  # may read reports, not order them
    assert client.post("/dashboards/reports/request/", {"month": "2026-02"}).status_code == 403
