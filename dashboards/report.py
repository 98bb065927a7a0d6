"""The monthly PDF report: figures from ``dashboards.metrics``, charts as SVG, weasyprint.

Reports are rows of ``MonthlyReport`` processed by the background job ``monthly-report``
(``config/jobs.py``): at or after 01:00 on the 1st it queues the previous month's report if the
archive has none, and it generates every queued report (also those requested on demand from the
dashboard), updating ``progress`` as it goes so the page can show it. The PDF goes to the
default storage (``var/private-media/reports/``), which is private: it is served only through
the permission-checked download view.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from dashboards import charts, metrics, past
from dashboards.metrics import CHINA, Figures, Period, Rate
from dashboards.models import MonthlyReport
from dashboards.summary import report_summary

logger = logging.getLogger(__name__)
# weasyprint logs every layout step at INFO; a report is one line in our log, not a dozen.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

GENERATE_AT = dt.time(1, 0)  # 01:00 on the 1st, Asia/Shanghai
STALE_AFTER = dt.timedelta(minutes=30)  # a "running" report older than this was abandoned
BREACH_LIST_LIMIT = 500
REPORT_BREAKDOWNS = ("department", "channel", "category", "request_type")
TREND_MONTHS = 12


# --- what the report shows ------------------------------------------------------------------


def _change(current: Any, previous: Any) -> str:
    """本月 against 上月: percentage points for rates, plain difference for numbers."""
    if isinstance(current, Rate):
        if current.percent is None or previous.percent is None:
            return metrics.DASH
        diff: Decimal = current.percent - previous.percent
        return f"{diff:+.1f} 个百分点"
    if current is None or previous is None:
        return metrics.DASH
    number = current - previous
    return f"{number:+.1f}" if isinstance(number, float) else f"{number:+d}"


def summary_rows(current: Figures, previous: Figures) -> list[dict[str, str]]:
    rows = []
    for key, label, _kind in metrics.FIGURES:
        now_value, before = current.value(key), previous.value(key)
        rows.append(
            {
                "key": key,
                "label": label,
                "current": current.display(key),
                "current_detail": now_value.detail if isinstance(now_value, Rate) else "",
                "previous": previous.display(key),
                "previous_detail": before.detail if isinstance(before, Rate) else "",
                "change": _change(now_value, before),
            }
        )
    return rows


def _percent(rate: Rate) -> float | None:
    return float(rate.percent) if rate.percent is not None else None


def breach_rows(*, period: Period, as_of: dt.datetime) -> list[dict[str, Any]]:
    """The report's list of cases that missed their deadline, as they stood at ``as_of``
    (the department responsible and the deadline in force then)."""
    then = past.THEN
    rows = list(
        metrics.breaches_in_period(period=period, as_of=as_of).values(
            "case_no",
            "received_at",
            "first_replied_at",
            then["department_id"],
            then["category_id"],
            then["resolve_due_at"],
        )[:BREACH_LIST_LIMIT]
    )
    departments = metrics.group_labels("department", {row[then["department_id"]] for row in rows})
    categories = metrics.group_labels("category", {row[then["category_id"]] for row in rows})
    replied = [row["first_replied_at"] for row in rows]
    return [
        {
            "case_no": row["case_no"],
            "received_at": row["received_at"],
            "department": departments[row[then["department_id"]]],
            "category": categories[row[then["category_id"]]],
            "replied_at": at if at is not None and at <= as_of else None,
            "due": row[then["resolve_due_at"]],
        }
        for row, at in zip(rows, replied, strict=True)
    ]


def report_context(*, period: Period, as_of: dt.datetime, generated_by: str = "") -> dict[str, Any]:
    """Everything the report template shows (also what the tests compare the PDF with)."""
    # One pass for the month's total and its four breakdowns, one for the eleven months
    # before it (the trend, which also holds the previous month).
    found = metrics.figures_all(
        period=period, as_of=as_of, breakdowns=REPORT_BREAKDOWNS, trend_months=TREND_MONTHS
    )
    current, previous, trend = found.total, found.previous_month(), found.trend
    departments = metrics.league(found.breakdown("department"), rank_by="on_time_rate")
    channels = found.breakdown("channel")
    categories = found.breakdown("category", limit=10)
    types = found.breakdown("request_type")
    month_labels = [f"{row.key[2:4]}/{row.key[5:7]}" for row in trend]
    previous_period = period.previous_month()
    return {
        "period": period,
        "as_of": as_of.astimezone(CHINA),
        "generated_by": generated_by or "系统（每月自动生成）",
        "current": current,
        "previous": previous,
        "previous_period": previous_period,
        "intro": report_summary(
            period_label=period.label,
            previous_label=previous_period.label,
            current=current,
            previous=previous,
            league=departments,
        ),
        "summary": summary_rows(current, previous),
        "excluded": metrics.excluded_counts(period, as_of=as_of),
        "departments": departments,
        "channels": channels,
        "categories": categories,
        "types": types,
        "trend": trend,
        "breaches": breach_rows(period=period, as_of=as_of),
        "breach_total": current.on_time_rate.den - current.on_time_rate.num,
        "sample_min": metrics.SAMPLE_MIN,
        "chart_channels": charts.hbar_chart(
            [row.label for row in channels],
            [row.received for row in channels],
            title="各渠道受理量",
            width=520,
        ),
        "chart_categories": charts.hbar_chart(
            [row.label for row in categories],
            [row.received for row in categories],
            title="受理量前十的分类",
            width=520,
        ),
        "chart_departments": charts.hbar_chart(
            [row.figures.label for row in departments],
            [_percent(row.figures.on_time_rate) for row in departments],
            title="各部门按时办结率",
            unit="%",
            maximum=100,
        ),
        "chart_volume": charts.vbar_chart(
            month_labels, [row.received for row in trend], title="近12个月受理量", width=660
        ),
        "chart_rates": charts.line_chart(
            month_labels,
            {
                "回复率": [_percent(row.reply_rate) for row in trend],
                "按时办结率": [_percent(row.on_time_rate) for row in trend],
                "满意率": [_percent(row.satisfaction_rate) for row in trend],
            },
            title="近12个月主要比率",
            width=660,
        ),
    }


def report_pdf(context: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # imported late: it loads pango when first used

    html = render_to_string("dashboards/report.html", context)
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]


# --- the archive and the job ------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def report_request(*, month: dt.date, user: Any = None) -> MonthlyReport:
    """Queue (or re-queue) the report of ``month``; the job picks it up within seconds. A
    report already being generated is left alone."""
    now = timezone.now()
    report, _created = MonthlyReport.objects.get_or_create(
        month=month_start(month), defaults={"requested_at": now, "generated_by": user}
    )
    MonthlyReport.objects.filter(pk=report.pk).exclude(status=MonthlyReport.Status.RUNNING).update(
        status=MonthlyReport.Status.PENDING,
        progress=0,
        step="排队中",
        error="",
        generated_by=user,
        requested_at=now,
    )
    report.refresh_from_db()
    return report


def _progress(report: MonthlyReport, percent: int, step: str) -> None:
    MonthlyReport.objects.filter(pk=report.pk).update(progress=percent, step=step)


def report_failure_text(exc: Exception) -> str:
    """What leadership reads when a report fails: the cause in Chinese, the detail after it."""
    detail = f"{type(exc).__name__}: {exc}"
    lowered = detail.lower()
    if "pango" in lowered or "cairo" in lowered or "gobject" in lowered or "harfbuzz" in lowered:
        cause = "服务器缺少排版组件（Pango），请安装 libpango-1.0-0 和 libpangoft2-1.0-0。"
    elif "font" in lowered:
        cause = "服务器缺少中文字体，请安装 fonts-noto-cjk。"
    elif isinstance(exc, OSError):
        cause = "报告文件无法写入存储，请检查磁盘空间和目录权限。"
    else:
        cause = "生成报告时出错，已记录日志；请稍后重新生成，或联系管理员。"
    return f"{cause}（{detail}）"


def report_generate(report: MonthlyReport) -> MonthlyReport:
    """Generate one claimed report: figures, charts, PDF, archive."""
    period = Period.month(report.month.year, report.month.month)
    as_of = timezone.now()
    user = report.generated_by
    who = (user.get_full_name() or user.get_username()) if user is not None else ""
    try:
        _progress(report, 10, "计算指标")
        context = report_context(period=period, as_of=as_of, generated_by=who)
        _progress(report, 50, "排版 PDF")
        pdf = report_pdf(context)
        _progress(report, 90, "归档")
        name = f"reports/{period.key}.pdf"
        old = MonthlyReport.objects.get(pk=report.pk).file.name
        # Save the new file first (storage picks a free name): the old one goes only after.
        saved = default_storage.save(name, ContentFile(pdf))
        MonthlyReport.objects.filter(pk=report.pk).update(
            file=saved,
            as_of=as_of,
            status=MonthlyReport.Status.DONE,
            progress=100,
            step="完成",
            error="",
            finished_at=timezone.now(),
        )
        if old and old != saved and default_storage.exists(old):
            default_storage.delete(old)
    except Exception as exc:  # the job survives a bad report; the page shows why
        logger.exception("monthly report %s failed", period.key)
        MonthlyReport.objects.filter(pk=report.pk).update(
            status=MonthlyReport.Status.FAILED,
            step="失败",
            error=report_failure_text(exc)[:2000],
            finished_at=timezone.now(),
        )
    report.refresh_from_db()
    return report


@dataclass
class ReportsRun:
    queued: list[str] = field(default_factory=list)
    handled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"queued {self.queued} generated {self.handled} failed {self.failed}"


def monthly_due(now: dt.datetime) -> dt.date | None:
    """The month whose report is due at ``now``: the previous one, from 01:00 on the 1st."""
    local = now.astimezone(CHINA)
    this_month = local.date().replace(day=1)
    if local.date() == this_month and local.time() < GENERATE_AT:
        this_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    return (this_month - dt.timedelta(days=1)).replace(day=1)


def reports_run(*, now: dt.datetime | None = None) -> ReportsRun:
    """The ``monthly-report`` job: queue last month's report when due and not yet archived,
    then generate every queued report, one claim at a time (a conditional UPDATE, so two
    workers never generate the same report)."""
    now = now or timezone.now()
    run = ReportsRun()
    month = monthly_due(now)
    if month is not None:
        _report, created = MonthlyReport.objects.get_or_create(
            month=month, defaults={"requested_at": now, "step": "排队中"}
        )
        if created:
            run.queued.append(f"{month:%Y-%m}")
    stale = now - STALE_AFTER
    while True:
        candidate = (
            MonthlyReport.objects.filter(
                Q(status=MonthlyReport.Status.PENDING)
                | Q(status=MonthlyReport.Status.RUNNING, started_at__lt=stale)
            )
            .order_by("requested_at", "pk")
            .first()
        )
        if candidate is None:
            break
        claimed = (
            MonthlyReport.objects.filter(pk=candidate.pk, status=candidate.status)
            .filter(Q(started_at=candidate.started_at) | Q(started_at__isnull=True))
            .update(status=MonthlyReport.Status.RUNNING, started_at=timezone.now(), progress=5)
        )
        if not claimed:
            continue
        done = report_generate(candidate)
        (run.handled if done.status == MonthlyReport.Status.DONE else run.failed).append(
            done.month_key
        )
    return run
