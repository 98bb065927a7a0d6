"""The queue as an Excel workbook: the rows the inbox shows under the same filter and scope,
in the same order (every page of it, up to ``EXPORT_MAX``), written with openpyxl.

Text that a spreadsheet would run as a formula is quoted by the CSV rule
(``tickets.text.csv_cell``); timestamps are local time to the second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from tickets.models import RequestType, Urgency
from tickets.text import csv_cell, strip_control
from tickets.views import queries
from tickets.views.auth import staff_required
from tickets.views.queue import filter_query, queue_queryset
from tickets.views.rows import QueueRow, queue_rows

EXPORT_MAX = 10_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = (
    "编号",
    "标题",
    "渠道",
    "诉求类型",
    "紧急程度",
    "分类",
    "承办部门",
    "承办人",
    "状态",
    "督办",
    "时限类型",
    "时限",
    "收到时间",
)
WIDTHS = (17, 40, 10, 8, 8, 14, 16, 12, 8, 6, 8, 20, 20)
EXTRA_FIELDS = ("request_type", "received_at")
SETTLED_CUT = "已答复、已办结等工单未能在限定时间内查完，本表只含查到的部分：请用更具体的词，或勾选状态缩小范围。"


def _text(value: str) -> str:
    return str(csv_cell(strip_control(value)))


def _local(value: dt.datetime | None) -> dt.datetime | None:
    """A naive local time to the second (a spreadsheet has no time zones)."""
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0)


def export_lines(rows: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """The sheet's lines: each row's cells as the page shows them (``queue_rows``), plus the
    type, urgency and receipt time the page has no column for."""
    types = {value: str(label) for value, label in RequestType.choices}
    urgencies = {value: str(label) for value, label in Urgency.choices}
    for row, ticket in zip(queue_rows(rows), rows, strict=True):
        yield export_values(row, ticket, types, urgencies)


def export_values(
    row: QueueRow, ticket: dict[str, Any], types: dict[str, str], urgencies: dict[str, str]
) -> list[Any]:
    return [
        _text(row.case_no),
        _text(row.title or "（无标题）"),
        _text(row.channel_label),
        types.get(ticket["request_type"], ticket["request_type"]),
        urgencies.get(ticket["urgency"], ticket["urgency"]),
        _text(row.category),
        _text(row.department),
        _text(row.assignee),
        _text(row.state_label),
        "是" if row.supervised else "",
        row.clock,
        _local(row.due_at),
        _local(ticket["received_at"]),
    ]


def queue_workbook(
    *, rows: list[dict[str, Any]], truncated: bool, query: str, settled_cut: bool = False
) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("工单")
    for letter, width in zip("ABCDEFGHIJKLM", WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    # Plain values: openpyxl gives a datetime the format yyyy-mm-dd h:mm:ss by itself, and a
    # cell object per value would double the time of a 10,000-row sheet.
    for line in export_lines(rows):
        sheet.append(line)
    about = workbook.create_sheet("说明")
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 60
    about.append(["导出时间", _local(timezone.now())])
    about.append(["筛选条件", _text(query) or "（无，即工单队列的默认视图）"])
    about.append(["行数", len(rows)])
    if truncated:
        about.append(
            ["注意", f"超过 {EXPORT_MAX} 件，只导出了前 {EXPORT_MAX} 件，请缩小筛选范围。"]
        )
    if settled_cut:
        about.append(["注意", SETTLED_CUT])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@staff_required
@require_GET
def queue_xlsx(request: HttpRequest) -> HttpResponse:
    """导出 Excel: what the queue shows under the request's filter, for the viewer's scope."""
    _, filters, queryset = queue_queryset(request, extra_fields=EXTRA_FIELDS)
    rows, truncated, cut = queries.queue_all(
        queryset=queryset, settled=filters.settled, limit=EXPORT_MAX
    )
    body = queue_workbook(
        rows=rows, truncated=truncated, query=filter_query(request.GET), settled_cut=cut
    )
    response = HttpResponse(body, content_type=XLSX)
    stamp = f"{timezone.localtime():%Y%m%d-%H%M%S}"
    response["Content-Disposition"] = f'attachment; filename="inbox-{stamp}.xlsx"'
    return response
