"""Leadership dashboard pages: read-only figures, CSV downloads and the report archive.

Views only check who is asking, read the pickers and hand over to ``dashboards.dashboard`` (the
figures) or ``dashboards.report`` (queueing a report); nothing here changes a ticket.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from config.csp import file_csp
from dashboards import report
from dashboards.access import (
    DepartmentRefused,
    NoAccess,
    Viewer,
    department_choices,
    may_read_reports,
    may_regenerate_reports,
    viewer_for,
)
from dashboards.dashboard import TABLES, csv_rows, dashboard_build, params_parse
from dashboards.models import MonthlyReport
from dashboards.workload import workload_build
from tickets.text import csv_row


def _forbidden(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(
        request,
        "dashboards/forbidden.html",
        {"message": message, "may_read_reports": may_read_reports(request.user)},
        status=403,
    )


def dashboard_viewer(view: Any) -> Any:
    """Logged in, and a role that may see figures; the viewer's scope is passed on. A
    department outside that scope is refused (403) with what the user may see instead."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            viewer = viewer_for(request.user)
            return view(request, viewer, *args, **kwargs)  # type: ignore[no-any-return]
        except DepartmentRefused as refused:
            return _forbidden(request, refused.message)
        except NoAccess:
            return _forbidden(request)

    return wrapper


@require_GET
@dashboard_viewer
def home(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    now = timezone.now()
    params = params_parse(request.GET, now=now)
    data = dashboard_build(params=params, viewer=viewer, now=now)
    data["may_read_reports"] = may_read_reports(request.user)
    return render(request, "dashboards/home.html", data)


@require_GET
@dashboard_viewer
def workload(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    now = timezone.now()
    params = params_parse(request.GET, now=now)
    data = workload_build(viewer=viewer, department_id=params.department_id, now=now)
    data.update(
        viewer=viewer,
        params=params,
        choices=department_choices(viewer),
        may_read_reports=may_read_reports(request.user),
    )
    return render(request, "dashboards/workload.html", data)


@require_GET
@dashboard_viewer
def table_csv(request: HttpRequest, viewer: Viewer, table: str) -> HttpResponse:
    if table not in TABLES:
        raise Http404("没有这张表。")
    now = timezone.now()
    params = params_parse(request.GET, now=now)
    data = dashboard_build(params=params, viewer=viewer, now=now)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"minsheng-{table}-{params.period.key}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so that Excel reads the Chinese as UTF-8
    writer = csv.writer(response)
    writer.writerows(csv_row(row) for row in csv_rows(table, data))
    return response


def _month(value: str) -> dt.date:
    try:
        year, month = (int(part) for part in value.split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        raise Http404("月份无效。")


@require_GET
@login_required
def reports(request: HttpRequest) -> HttpResponse:
    if not may_read_reports(request.user):
        return _forbidden(request)
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return render(
        request,
        "dashboards/reports.html",
        {
            "reports": MonthlyReport.objects.select_related("generated_by"),
            "may_regenerate": may_regenerate_reports(request.user),
            "may_read_reports": True,
            "default_month": f"{last_month:%Y-%m}",
            "error": request.GET.get("error", ""),
        },
    )


@require_POST
@login_required
def report_request(request: HttpRequest) -> HttpResponse:
    if not may_regenerate_reports(request.user):
        return _forbidden(request)
    raw = (request.POST.get("month") or "").strip()
    try:
        year, number = (int(part) for part in raw.split("-"))
        month = dt.date(year, number, 1)
    except ValueError:
        return redirect(reverse("dashboards:reports") + "?error=month")
    if month > timezone.localdate().replace(day=1):
        return redirect(reverse("dashboards:reports") + "?error=future")
    queued = report.report_request(month=month, user=request.user)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(_status(queued), status=202)
    return redirect(reverse("dashboards:reports") + f"?watch={queued.month_key}")


def _status(item: MonthlyReport) -> dict[str, Any]:
    return {
        "month": item.month_key,
        "status": item.status,
        "status_label": item.get_status_display(),
        "progress": item.progress,
        "step": item.step,
        "error": item.error,
        "as_of": timezone.localtime(item.as_of).isoformat() if item.as_of else None,
        "download": reverse("dashboards:report_download", args=[item.month_key])
        if item.status == MonthlyReport.Status.DONE and item.file
        else None,
    }


@require_GET
@login_required
def report_status(request: HttpRequest, month: str) -> HttpResponse:
    if not may_read_reports(request.user):
        return JsonResponse({"error": "无权查看报告。"}, status=403)
    item = MonthlyReport.objects.filter(month=_month(month)).first()
    if item is None:
        return JsonResponse({"error": "没有这个月的报告。"}, status=404)
    return JsonResponse(_status(item))


@require_GET
@login_required
@file_csp
def report_download(request: HttpRequest, month: str) -> HttpResponseBase:
    if not may_read_reports(request.user):
        raise Http404("没有这个报告。")
    item = MonthlyReport.objects.filter(month=_month(month)).first()
    if item is None or not item.file or not default_storage.exists(item.file.name):
        raise Http404("没有这个报告。")
    response = FileResponse(
        default_storage.open(item.file.name, "rb"),
        content_type="application/pdf",
        as_attachment=request.GET.get("inline") != "1",
        filename=f"民声月度报告-{item.month_key}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response
