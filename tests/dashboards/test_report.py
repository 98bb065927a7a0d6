"""The monthly PDF: a month of imported history, figures equal to the metrics module's,
Chinese in an embedded CJK font, page 1 rendered to PNG, the job at 01:00 on the 1st."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from dashboards import metrics
from dashboards.metrics import CHINA, Period
from dashboards.models import MonthlyReport
from dashboards.report import monthly_due, report_request, reports_run
from tests.dashboards.conftest import at
from tests.dashboards.history_data import month_of_history
from tests.dashboards.pdf_check import page_fonts, pdf_text, uncovered_chinese

MARCH = Period.month(2026, 3)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    return tmp_path / "private"


@pytest.fixture
def imported_march(tmp_path, categories):
    path = tmp_path / "march.jsonl"
    lines = month_of_history(count=60) + month_of_history(month=2, count=20, seed=3)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    call_command("import_history", str(path), "--quiet-progress", stdout=io.StringIO())


@pytest.fixture
def march_report(imported_march, private_storage, time_machine):
    time_machine.move_to(at("2026-04-01 01:00:05"), tick=False)
    run = reports_run()
    assert run.queued == ["2026-03"] and run.handled == ["2026-03"], run.summary()
    report = MonthlyReport.objects.get(month=dt.date(2026, 3, 1))
    with default_storage.open(report.file.name, "rb") as handle:
        return report, handle.read()


def _line(text: str, label: str, cells: int = 1) -> str:
    """The first table line starting with ``label`` (charts print "label value" lines too)."""
    for line in text.splitlines():
        if line.startswith(label + " ") and len(line[len(label) :].split()) >= cells:
            return line
    raise AssertionError(f"no line for {label!r} in:\n{text}")


def test_it_generates_last_months_report_at_one_on_the_first(march_report):
    report, pdf = march_report
    assert report.status == "done" and report.progress == 100
    assert report.generated_by is None
    assert report.as_of == at("2026-04-01 01:00:05")
    assert report.file.name == "reports/2026-03.pdf"
    assert pdf.startswith(b"%PDF")


def test_it_prints_the_same_figures_as_the_metrics_module(march_report):
    report, pdf = march_report
    pages = pdf_text(pdf)
    text = "\n".join(pages)
    figures = metrics.figures(period=MARCH, as_of=report.as_of)
    previous = metrics.figures(period=MARCH.previous_month(), as_of=report.as_of)
    assert figures.received == 60 and previous.received == 20
    for key, label, kind in metrics.FIGURES:
        line = _line(text, label)
        cells = line[len(label) :].split()
        value = figures.value(key)
        if kind == "rate":
            assert cells[0] == value.display and cells[1] == f"({value.detail})", line
        else:
            assert cells[0] == figures.display(key), line
        assert previous.display(key) in cells[1:], line
    as_of = report.as_of.astimezone(CHINA)
    assert f"as_of {as_of:%Y-%m-%d %H:%M:%S}" in pages[0]
    for row in metrics.league(metrics.breakdown(period=MARCH, as_of=report.as_of, by="department")):
        rank = row.rank or ("样本不足" if row.insufficient else "不排名")
        line = _line(text, f"{rank} {row.figures.label}")
        assert f" {row.figures.received} " in line
        assert row.figures.on_time_rate.display in line and row.figures.on_time_rate.detail in line
    for row in metrics.breakdown(period=MARCH, as_of=report.as_of, by="channel"):
        line = _line(text, row.label, cells=4)
        assert line.split()[1:3] == [str(row.received), row.reply_rate.display], line
    breached = metrics.breaches_in_period(period=MARCH, as_of=report.as_of)
    assert f"超期工单清单（共 {breached.count()} 件）" in text
    for ticket in breached:
        assert ticket.case_no in text


def test_it_embeds_a_cjk_font_that_covers_every_chinese_character(march_report):
    _report, pdf = march_report
    pages = pdf_text(pdf)
    for number, text in enumerate(pages):
        fonts = page_fonts(pdf, number)
        assert fonts and all(font["embedded"] for font in fonts), fonts
        assert any("CJK" in str(font["name"]) for font in fonts), [f["name"] for f in fonts]
        assert re.search(r"[\u4e00-\u9fff]", text)
        assert uncovered_chinese(pdf, number, text) == set(), number


def test_it_renders_page_one_to_png_as_an_artefact(march_report):
    _report, pdf = march_report
    assert shutil.which("pdftoppm"), "pdftoppm missing: apt-get install poppler-utils"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "monthly-report-2026-03.pdf").write_bytes(pdf)
    target = ARTIFACTS / "monthly-report-2026-03-page"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "2",
            str(ARTIFACTS / "monthly-report-2026-03.pdf"),
            str(target),
        ],
        check=True,
    )
    pngs = sorted(ARTIFACTS.glob("monthly-report-2026-03-page-*.png"))
    assert pngs and pngs[0].read_bytes().startswith(b"\x89PNG")


def test_it_queues_a_month_once_and_only_from_one_on_the_first(db, private_storage, monkeypatch):
    monkeypatch.setattr("dashboards.report.report_generate", lambda report: report)
    assert monthly_due(at("2026-04-01 01:00")) == dt.date(2026, 3, 1)
    assert monthly_due(at("2026-04-01 00:59")) == dt.date(2026, 2, 1)
    assert monthly_due(at("2026-04-15 12:00")) == dt.date(2026, 3, 1)
    MonthlyReport.objects.create(month=dt.date(2026, 2, 1), status="done")
    assert reports_run(now=at("2026-04-01 00:59")).queued == []
    assert reports_run(now=at("2026-04-01 01:00")).queued == ["2026-03"]
    assert reports_run(now=at("2026-04-01 01:15")).queued == []


def test_it_regenerates_on_demand_with_a_new_as_of(march_report, cast, time_machine):
    report, _pdf = march_report
    first_file = report.file.name
    time_machine.move_to(at("2026-04-03 09:00"), tick=False)
    queued = report_request(month=dt.date(2026, 3, 1), user=cast["leadership"])
    assert (queued.status, queued.progress) == ("pending", 0)
    run = reports_run()
    assert run.handled == ["2026-03"]
    queued.refresh_from_db()
    assert queued.as_of == at("2026-04-03 09:00") and queued.generated_by == cast["leadership"]
    # The new file is saved before the old one is removed, so a failed save loses nothing.
    assert queued.file.name.startswith("reports/2026-03") and queued.file.name.endswith(".pdf")
    assert queued.file.name != first_file and not default_storage.exists(first_file)
    with default_storage.open(queued.file.name, "rb") as handle:
        assert "as_of 2026-04-03 09:00:00" in pdf_text(handle.read())[0]


def test_it_records_a_failure_and_keeps_the_job_alive(db, private_storage, monkeypatch):
    def broken(context):
        raise RuntimeError("pango missing")

    monkeypatch.setattr("dashboards.report.report_pdf", broken)
    run = reports_run(now=at("2026-04-01 02:00"))
    assert run.failed == ["2026-03"]
    report = MonthlyReport.objects.get(month=dt.date(2026, 3, 1))
    assert report.status == "failed" and "pango missing" in report.error


def test_a_failed_report_says_why_in_chinese() -> None:
    from dashboards.report import report_failure_text

    assert report_failure_text(OSError("cannot load library 'libpango-1.0-0'")).startswith(
        "服务器缺少排版组件"
    )
    assert report_failure_text(PermissionError("denied")).startswith("报告文件无法写入")
    assert report_failure_text(ValueError("x")).startswith("生成报告时出错")
