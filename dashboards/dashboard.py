"""What the leadership dashboard shows, built once for the page, the live updates and CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from dashboards import metrics
from dashboards.access import Viewer, department_choices, viewer_scope
from dashboards.metrics import CHINA, Figures, Period, Rate
from tickets.hotspots.selectors import hot_issues_of_week
from tickets.models import Department
from tickets.text import csv_datetime

BREACH_ROWS = 50
CSV_BREACH_ROWS = 10_000
TOP_CATEGORIES = 10
CARD_KEYS = ("received", "reply_rate", "ack_on_time_rate", "on_time_rate", "satisfaction_rate")
TABLES = {
    "summary": "本期概况",
    "departments": "部门排名",
    "channels": "渠道分布",
    "categories": "分类排行",
    "request_types": "诉求类型",
    "trend": "近12个月趋势",
    "breaches": "当前超时工单",
    "hotspots": "近7天热点问题",
}
TOP_HOT_ISSUES = 10


@dataclass(frozen=True)
class Params:
    period: Period
    department_id: int | None = None
    rank_by: str = "on_time_rate"
    errors: tuple[str, ...] = field(default=(), compare=False)

    def query(self) -> str:
        values: dict[str, str] = {}
        start = self.period.start.astimezone(CHINA)
        if self.period.is_month:
            values["month"] = f"{start:%Y-%m}"
        else:
            last = (self.period.end.astimezone(CHINA) - dt.timedelta(seconds=1)).date()
            values["from"], values["to"] = f"{start:%Y-%m-%d}", f"{last:%Y-%m-%d}"
        if self.department_id is not None:
            values["department"] = str(self.department_id)
        if self.rank_by != "on_time_rate":
            values["rank"] = self.rank_by
        return urlencode(values)


# The years a period may lie in: outside them a date's arithmetic (a month's end, a week's
# start, time zones) overflows, and no figure exists there anyway.
YEARS = range(2000, 2101)


def _date(value: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if day.year in YEARS else None


def params_parse(data: Mapping[str, str], *, now: dt.datetime) -> Params:
    """Read the pickers; anything unreadable falls back to the default with a note. The
    default period is the last complete month (the current one is still moving)."""
    errors: list[str] = []
    period = Period.month_of(now).previous_month()
    month = (data.get("month") or "").strip()
    first, last = _date(data.get("from") or ""), _date(data.get("to") or "")
    if first and last:
        if first <= last and (last - first).days <= 366:
            period = Period.days(first, last)
        else:
            errors.append("日期范围无效（开始不能晚于结束，且不超过一年），已显示上月。")
    elif month:
        try:
            year, number = (int(part) for part in month.split("-"))
            if year not in YEARS:
                raise ValueError(month)
            period = Period.month(year, number)
        except (ValueError, OverflowError):
            errors.append(f"月份「{month[:20]}」无效，已显示上月。")
    department_id = None
    raw_department = (data.get("department") or "").strip()
    if raw_department:
        if raw_department.isascii() and raw_department.isdigit() and len(raw_department) < 12:
            department_id = int(raw_department)
        else:
            errors.append("部门无效，已显示全部。")
    rank_by = data.get("rank") or "on_time_rate"
    if rank_by not in metrics.RANKABLE:
        errors.append("排名指标无效，已按按时办结率排名。")
        rank_by = "on_time_rate"
    return Params(period, department_id, rank_by, tuple(errors))


def _rate_json(rate: Rate) -> float | None:
    return float(rate.percent) if rate.percent is not None else None


def _card(figures: Figures, key: str) -> dict[str, str]:
    value = figures.value(key)
    return {
        "key": key,
        "label": metrics.FIGURE_LABELS[key],
        "value": figures.display(key),
        "detail": value.detail if isinstance(value, Rate) else "",
    }


def dashboard_build(*, params: Params, viewer: Viewer, now: dt.datetime) -> dict[str, Any]:
    """The whole dashboard for one viewer: figures, tables, chart data and links. A picked
    department the viewer may not see raises ``access.DepartmentRefused``."""
    scope = viewer_scope(viewer, params.department_id)
    period = params.period
    # Every figure of the page in one pass over the period's tickets, plus one for the trend.
    found = metrics.figures_all(
        period=period,
        as_of=now,
        breakdowns=("department", "channel", "category", "request_type"),
        trend_months=12,
        departments=scope,
    )
    summary = found.total
    league = metrics.league(found.breakdown("department"), rank_by=params.rank_by)
    channels = found.breakdown("channel")
    categories = found.breakdown("category", limit=TOP_CATEGORIES)
    types = found.breakdown("request_type")
    trend = found.trend
    breaches_all = metrics.breaches_current(now=now, departments=scope)
    breach_total = breaches_all.count()
    cards = [_card(summary, key) for key in CARD_KEYS]
    cards.append(
        {"key": "overdue_now", "label": "当前超时", "value": str(breach_total), "detail": "件"}
    )
    # The week's top issues do not follow the period picker: they are always the last 7 days.
    hot_run, hot_issues = hot_issues_of_week(departments=scope, limit=TOP_HOT_ISSUES)
    query = params.query()
    notices = list(params.errors)
    if params.department_id is not None and scope == viewer_scope(viewer, None):
        if not Department.objects.filter(pk=params.department_id).exists():
            notices.append("所选部门不存在，已显示全部。")
    return {
        "params": params,
        "notices": notices,
        "period": period,
        "period_last": (period.end.astimezone(CHINA) - dt.timedelta(seconds=1)).date(),
        "as_of": now.astimezone(CHINA),
        "summary": summary,
        "summary_rows": [
            {"label": label, "value": summary.display(key), "detail": _detail(summary, key)}
            for key, label, _kind in metrics.FIGURES
        ],
        "excluded": metrics.excluded_counts(period, as_of=now, departments=scope),
        "cards": cards,
        "league": league,
        "rank_label": metrics.FIGURE_LABELS[params.rank_by],
        "rankable": [(key, metrics.FIGURE_LABELS[key]) for key in metrics.RANKABLE],
        "channels": channels,
        "categories": categories,
        "types": types,
        "trend": trend,
        "breaches": list(breaches_all[:BREACH_ROWS]),
        "breaches_all": breaches_all[:CSV_BREACH_ROWS],
        "breach_total": breach_total,
        "hot_run": hot_run,
        "hot_issues": hot_issues,
        "sample_min": metrics.SAMPLE_MIN,
        "departments": department_choices(viewer),
        "viewer": viewer,
        "scope_label": _scope_label(viewer, params.department_id),
        "query": query,
        "csv": {name: f"{reverse('dashboards:csv', args=[name])}?{query}" for name in TABLES},
        "chart_data": {
            "rank_label": metrics.FIGURE_LABELS[params.rank_by],
            "departments": [
                {
                    "name": row.figures.label,
                    "value": _rate_json(getattr(row.figures, params.rank_by)),
                }
                for row in league
            ],
            "channels": [{"name": row.label, "value": row.received} for row in channels],
            "categories": [{"name": row.label, "value": row.received} for row in categories],
            "trend": {
                "months": [row.key for row in trend],
                "received": [row.received for row in trend],
                "reply_rate": [_rate_json(row.reply_rate) for row in trend],
                "on_time_rate": [_rate_json(row.on_time_rate) for row in trend],
                "satisfaction_rate": [_rate_json(row.satisfaction_rate) for row in trend],
            },
        },
        "live_summary": {key: summary.display(key) for key, _label, _kind in metrics.FIGURES},
    }


def _scope_label(viewer: Viewer, department_id: int | None) -> str:
    """Whose figures the page shows, in words."""
    if department_id is not None and department_id != viewer.department_id:
        picked = Department.objects.filter(pk=department_id).first()
        if picked is not None:
            return f"{picked.name}（含下级部门）"
    if viewer.citywide:
        return "全市"
    return f"{viewer.department_name}（含下级部门）"


def _detail(figures: Figures, key: str) -> str:
    value = figures.value(key)
    return value.detail if isinstance(value, Rate) else ""


# --- CSV tables ---------------------------------------------------------------------------


def _figure_header() -> list[str]:
    header: list[str] = []
    for _key, label, kind in metrics.FIGURES:
        header.append(label)
        if kind == "rate":
            header += [f"{label}分子", f"{label}分母"]
    return header


def _figure_cells(figures: Figures) -> list[Any]:
    cells: list[Any] = []
    for key, _label, kind in metrics.FIGURES:
        cells.append(figures.display(key))
        if kind == "rate":
            rate: Rate = figures.value(key)
            cells += [rate.num, rate.den]
    return cells


def csv_rows(table: str, data: dict[str, Any]) -> list[list[Any]]:
    """The rows of one dashboard table, header first (the numbers the page shows)."""
    if table == "summary":
        return [
            ["期间", *_figure_header()],
            [data["period"].label, *_figure_cells(data["summary"])],
        ]
    if table == "departments":
        rows: list[list[Any]] = [["排名", "部门", *_figure_header()]]
        for row in data["league"]:
            rank = row.rank or (metrics.SAMPLE_SMALL if row.insufficient else "不排名")
            rows.append([rank, row.figures.label, *_figure_cells(row.figures)])
        return rows
    if table in ("channels", "categories", "request_types", "trend"):
        source = {"channels": "channels", "categories": "categories", "request_types": "types"}
        name = {
            "channels": "渠道",
            "categories": "分类",
            "request_types": "诉求类型",
            "trend": "月份",
        }
        rows = [[name[table], *_figure_header()]]
        for figures in data[source.get(table, "trend")]:
            rows.append([figures.label, *_figure_cells(figures)])
        return rows
    if table == "breaches":
        rows = [["编号", "状态", "收到时间", "承办部门", "分类", "受理时限", "办结时限", "督办"]]
        for ticket in data["breaches_all"]:
            rows.append(
                [
                    ticket.case_no,
                    ticket.get_state_display(),
                    _local(ticket.received_at),
                    ticket.department.name if ticket.department else metrics.UNASSIGNED,
                    ticket.category.name if ticket.category else metrics.UNCATEGORISED,
                    _local(ticket.ack_due_at),
                    _local(ticket.resolve_due_at),
                    "是" if ticket.supervised else "否",
                ]
            )
        return rows
    if table == "hotspots":
        rows = [
            [
                "排名",
                "地点",
                "关键词",
                "反映件数",
                "未办结",
                "最早收到",
                "最近收到",
                "主案",
                "承办部门",
            ]
        ]
        for rank, issue in enumerate(data["hot_issues"], start=1):
            rows.append(
                [
                    rank,
                    issue.area,
                    issue.label,
                    issue.reports,
                    issue.open,
                    _local(issue.first_at),
                    _local(issue.last_at),
                    issue.lead_case_no,
                    issue.departments,
                ]
            )
        return rows
    raise KeyError(table)


def _local(moment: dt.datetime | None) -> str:
    return csv_datetime(moment)  # to the second, like every CSV of ours
