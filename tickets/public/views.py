"""Public pages: list with search and filters, detail, department figures, open data.

No login and no personal data: only published records, only their redacted text. Public URLs
carry the record's random ``public_id``, never a case number or a database id."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from tickets.categories import category_codes_alike, category_options
from tickets.channels import channel_label
from tickets.models import Department, RequestType, State
from tickets.models_public import PublicRecord
from tickets.public.figures import department_figures, population
from tickets.public.location import public_location
from tickets.public.months import (
    month_bounds,
    month_current,
    month_label,
    month_parse,
    months_back,
)
from tickets.text import csv_datetime, csv_row

PAGE_SIZE = 20
SEARCH_TERMS = 5  # words of a search, each of which a record must match
Status = PublicRecord.Status
PUBLIC_CACHE = cache_control(public=True, max_age=60)


def published() -> QuerySet[PublicRecord]:
    return PublicRecord.objects.filter(status=Status.PUBLISHED).select_related(
        "category", "department", "ticket"
    )


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def outcome_label(record: PublicRecord) -> str:
    state = record.ticket.state
    if state == State.CLOSED:
        return "已办结"
    if state == State.REPLIED:
        return "已答复"
    return "重新办理中"


def record_view(record: PublicRecord) -> dict[str, Any]:
    """What a public page shows of one record (confidential ones: no text at all)."""
    return {
        "public_id": record.public_id,
        "url": reverse("public:detail", args=[record.public_id]),
        "title": "（保密件，不公开内容）"
        if record.confidential
        else (record.title or "（无标题）"),
        "content": "" if record.confidential else record.content,
        "reply": "" if record.confidential else record.reply,
        "confidential": record.confidential,
        "category": record.category.name if record.category else "未分类",
        "department": record.department.name if record.department else "未派单",
        "request_type": _label(RequestType, record.request_type),
        "channel": channel_label(record.channel),
        "received_at": timezone.localtime(record.received_at),
        "replied_at": timezone.localtime(record.replied_at),
        "on_time": record.on_time,
        "outcome": outcome_label(record),
        # The same street-level location Open311 gives for this case.
        "location": public_location(record=record, ticket=record.ticket),
    }


def _matching(term: str) -> Q:
    """Records whose public text, category or department mentions ``term``, or whose public id
    it is. Only what the public pages show is searched (never the address: its precise part is
    not shown, so it must not be found either)."""
    return (
        Q(title__icontains=term)
        | Q(content__icontains=term)
        | Q(reply__icontains=term)
        | Q(category__name__icontains=term)
        | Q(department__name__icontains=term)
        | Q(public_id=term)
    )


def _filtered(request: HttpRequest) -> tuple[QuerySet[PublicRecord], dict[str, str]]:
    params = {
        key: request.GET.get(key, "").strip()[:100]
        for key in ("q", "department", "category", "month", "on_time")
    }
    records = published()
    for term in params["q"].split()[:SEARCH_TERMS]:
        records = records.filter(_matching(term))
    if params["department"]:
        records = records.filter(department__code=params["department"])
    if params["category"]:
        # The entry picked stands for every category that looks like it (tickets.categories).
        codes = category_codes_alike(params["category"])
        records = records.filter(Q(category__code__in=codes) | Q(category__parent__code__in=codes))
    month = month_parse(params["month"])
    if month:
        start, end = month_bounds(*month)
        records = records.filter(received_at__gte=start, received_at__lt=end)
    else:
        params["month"] = ""
    if params["on_time"] in ("1", "0"):
        records = records.filter(on_time=params["on_time"] == "1")
    return records.order_by("-replied_at", "-id"), params


@require_GET
@PUBLIC_CACHE
def record_list(request: HttpRequest) -> HttpResponse:
    records, params = _filtered(request)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({key: value for key, value in params.items() if value})
    return render(
        request,
        "public/list.html",
        {
            "page": page,
            "records": [record_view(record) for record in page.object_list],
            "params": params,
            "query": query,
            "departments": Department.objects.filter(active=True).only("code", "name"),
            "categories": category_options(staff=False),
            "months": [month_label(*month) for month in months_back(12)],
        },
    )


@require_GET
@PUBLIC_CACHE
def record_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    record = get_object_or_404(published(), public_id=public_id)
    return render(request, "public/detail.html", {"record": record_view(record)})


@require_GET
@PUBLIC_CACHE
def statistics(request: HttpRequest) -> HttpResponse:
    month = month_parse(request.GET.get("month")) or month_current()
    start, end = month_bounds(*month)
    as_of = timezone.now()
    figures = department_figures(start=start, end=end, as_of=as_of)
    records = PublicRecord.objects.filter(ticket__in=population(start, end))
    return render(
        request,
        "public/stats.html",
        {
            "month": month_label(*month),
            "months": [month_label(*item) for item in months_back(12)],
            "as_of": timezone.localtime(as_of),
            "total": figures[0],
            "rows": figures[1:],
            "published": records.filter(status=Status.PUBLISHED).count(),
            "withheld": records.filter(status=Status.WITHHELD).count(),
            "pending": records.filter(status=Status.PENDING).count(),
        },
    )


CSV_COLUMNS = [
    "公开编号",
    "分类",
    "承办部门",
    "诉求类型",
    "渠道",
    "收到时间",
    "答复时间",
    "是否按时办结",
    "办理状态",
    "标题",
    "诉求内容",
    "答复内容",
    "链接",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(records: QuerySet[PublicRecord], base: str) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheet programs read the file as UTF-8
    yield writer.writerow(CSV_COLUMNS)
    for record in records.iterator(chunk_size=500):
        view = record_view(record)
        on_time = {True: "是", False: "否"}.get(view["on_time"], "")
        yield writer.writerow(
            csv_row(
                [
                    view["public_id"],
                    view["category"],
                    view["department"],
                    view["request_type"],
                    view["channel"],
                    csv_datetime(record.received_at),
                    csv_datetime(record.replied_at),
                    on_time,
                    view["outcome"],
                    view["title"],
                    view["content"],
                    view["reply"],
                    base + view["url"],
                ]
            )
        )


@require_GET
def open_data_index(request: HttpRequest) -> HttpResponse:
    months = [month_label(*item) for item in months_back(24)]
    return render(request, "public/data.html", {"months": months})


@require_GET
def open_data_month(request: HttpRequest, month: str) -> StreamingHttpResponse:
    parsed = month_parse(month)
    if parsed is None:
        raise Http404("月份格式应为 YYYY-MM")
    start, end = month_bounds(*parsed)
    records = published().filter(received_at__gte=start, received_at__lt=end)
    response = StreamingHttpResponse(
        _csv_rows(records.order_by("received_at", "id"), request.build_absolute_uri("/")[:-1]),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="public-records-{month}.csv"'
    return response
