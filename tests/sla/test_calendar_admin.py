"""The admin warns about calendar coverage and imports a year's schedule."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from sla.models import CalendarYear
from tests.conftest import CHINA


def test_every_admin_page_warns_when_the_next_90_days_are_not_covered(client, cast):
    cache.clear()
    client.force_login(cast["admin"])
    with time_machine.travel(dt.datetime(2026, 11, 22, 10, 0, tzinfo=CHINA), tick=False):
        page = client.get("/admin/").content.decode()
    assert "工作日历未覆盖未来90天" in page and "2027" in page
    cache.clear()
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, 0, tzinfo=CHINA), tick=False):
        page = client.get("/admin/").content.decode()
    assert "工作日历未覆盖" not in page


def test_an_administrator_imports_next_years_schedule(client, cast):
    cache.clear()
    client.force_login(cast["admin"])
    form = client.get("/admin/sla/calendaryear/import/")
    assert form.status_code == 200 and "导入放假安排" in form.content.decode()
    upload = SimpleUploadedFile("2027.csv", "date,type,name\n2027-01-01,rest,元旦\n".encode())
    response = client.post("/admin/sla/calendaryear/import/", {"file": upload}, follow=True)
    assert "已导入 2027 年的放假安排" in response.content.decode()
    assert CalendarYear.objects.filter(year=2027, source="import:2027.csv").exists()
    with time_machine.travel(dt.datetime(2026, 11, 22, 10, 0, tzinfo=CHINA), tick=False):
        assert "工作日历未覆盖" not in client.get("/admin/").content.decode()


def test_a_bad_file_is_refused_with_the_line_and_nothing_changes(client, cast):
    client.force_login(cast["admin"])
    upload = SimpleUploadedFile("bad.csv", b"date,type\n2027-01-01,sometimes\n")
    response = client.post("/admin/sla/calendaryear/import/", {"file": upload})
    assert response.status_code == 200
    assert "第 2 行" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_a_handler_cannot_import(client, cast):
    client.force_login(cast["handler_a"])
    response = client.get("/admin/sla/calendaryear/import/")
    assert response.status_code in (302, 403)
