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
from dashboards.summary import report_summary
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
    text = text[text.index("一、本月概况") :]  # the tables, after the written summary
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
    assert f"数据截至 {as_of:%Y-%m-%d %H:%M:%S}（北京时间）" in pages[0]
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
        assert "数据截至 2026-04-03 09:00:00" in pdf_text(handle.read())[0]


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


def _flat(text: str) -> str:
    return "".join(text.split())


def test_it_opens_with_a_written_summary(march_report):
    report, pdf = march_report
    first = _flat(pdf_text(pdf)[0])
    figures = metrics.figures(period=MARCH, as_of=report.as_of)
    previous = metrics.figures(period=MARCH.previous_month(), as_of=report.as_of)
    league = metrics.league(metrics.breakdown(period=MARCH, as_of=report.as_of, by="department"))
    ranked = [row for row in league if row.rank is not None]
    assert len(ranked) >= 2
    best, worst = ranked[0].figures, ranked[-1].figures
    expected = report_summary(period_label="2026年3月", previous_label="2026年2月",
                              current=figures, previous=previous, league=league)  # fmt: skip
    assert first.index("本月摘要") < first.index("统计周期")  # before anything else
    for paragraph in expected:
        assert _flat(paragraph) in first, paragraph
    # What the summary must say, read back from the page.
    points = figures.reply_rate.percent - previous.reply_rate.percent
    moved = "上升" if points > 0 else "下降"
    assert (
        _flat(
            f"回复率 {figures.reply_rate.display}（{figures.reply_rate.detail} 件已答复），"
            f"比上月{moved} {abs(points)} 个百分点"
        )
        in first
    )
    assert (
        _flat(f"按时办结率 {figures.on_time_rate.display}（{figures.on_time_rate.detail}") in first
    )
    assert _flat(f"最高的部门是{best.label}（{best.on_time_rate.display}）") in first
    assert _flat(f"最低的是{worst.label}（{worst.on_time_rate.display}）") in first
    assert (
        _flat(f"共受理诉求 {figures.received} 件，比上月（2026年2月，{previous.received} 件）")
        in first
    )


def test_it_never_prints_internal_names(march_report):
    _report, pdf = march_report
    for number, text in enumerate(pdf_text(pdf)):
        assert "as_of" not in text, number
        identifiers = re.findall(r"[A-Za-z]+_[A-Za-z_]+|\b(?:None|True|False|null)\b", text)
        assert identifiers == [], (number, identifiers)


def test_it_draws_real_cjk_glyphs_on_the_first_page(march_report):
    """Page 1 rendered to PNG: every Chinese character of the summary is inked where the PDF
    puts it, and different characters look different (a missing font gives empty or
    identical .notdef boxes)."""
    import pdfplumber
    from PIL import Image

    _report, pdf = march_report
    assert shutil.which("pdftoppm"), "pdftoppm missing: apt-get install poppler-utils"
    ARTIFACTS.mkdir(exist_ok=True)
    source = ARTIFACTS / "monthly-report-2026-03-summary.pdf"
    source.write_bytes(pdf)
    target = ARTIFACTS / "monthly-report-2026-03-summary"
    dpi = 150
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(source),
         str(target)],
        check=True,
    )  # fmt: skip
    image = Image.open(f"{target}.png").convert("L")
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        chars = [
            char for char in document.pages[0].chars if re.match(r"[\u4e00-\u9fff]", char["text"])
        ]
    scale = dpi / 72
    glyphs: dict[str, bytes] = {}
    for char in chars:
        box = tuple(
            round(value * scale) for value in (char["x0"], char["top"], char["x1"], char["bottom"])
        )
        crop = image.crop(box).point(lambda value: 255 if value < 128 else 0)
        inked = crop.histogram()[255]
        assert inked >= 10, (char["text"], inked)  # a glyph, not a blank
        glyphs.setdefault(char["text"], crop.resize((24, 24)).tobytes())
    assert len(glyphs) >= 40, "".join(glyphs)
    assert len(set(glyphs.values())) >= 0.9 * len(glyphs)  # not one box for all
