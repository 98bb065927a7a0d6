"""Staff pages for reviewing public records: original and redacted side by side."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from tickets import publication
from tickets.errors import TicketError, TicketNotFound
from tickets.models_public import PublicRecord
from tickets.redaction import KIND_LABELS, highlight_masked, highlight_original

STATUS_TABS = [
    (PublicRecord.Status.PENDING, "待审核"),
    (PublicRecord.Status.PUBLISHED, "已公开"),
    (PublicRecord.Status.WITHHELD, "不予公开"),
]


def _mask_summary(record: PublicRecord) -> str:
    counts = record.masks if isinstance(record.masks, dict) else {}
    return "，".join(f"{KIND_LABELS.get(k, k)}×{n}" for k, n in counts.items() if n) or "无"


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or PublicRecord.Status.PENDING
    if status not in PublicRecord.Status.values:
        status = PublicRecord.Status.PENDING
    try:
        records = publication.public_records_for_review(user=request.user, status=status)
    except TicketNotFound:
        raise Http404("您无权审核公开记录。")
    return render(
        request,
        "public/review_list.html",
        {
            "rows": [(record, _mask_summary(record)) for record in records[:200]],
            "status": status,
            "tabs": STATUS_TABS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    try:
        record = publication.public_record_access(user=request.user, record_id=record_id)
    except TicketNotFound:
        raise Http404("没有找到该公开记录，或您无权审核。")
    error = ""
    if request.method == "POST":
        try:
            record = publication.public_record_review(
                actor=request.user,
                record_id=record.pk,
                action=request.POST.get("action", ""),
                title=request.POST.get("title"),
                content=request.POST.get("content"),
                reply=request.POST.get("reply"),
                reason=request.POST.get("reason", ""),
            )
        except TicketError as exc:
            error = exc.message
        else:
            messages.success(request, f"已{publication.ACTIONS[request.POST['action']]}。")
            return redirect("public:review_detail", record_id=record.pk)
    originals = publication.original_redaction(record)
    sides = [
        (
            label,
            field,
            mark_safe(highlight_original(originals[field].original, originals[field].masks)),  # noqa: S308
            mark_safe(highlight_masked(getattr(record, field))),  # noqa: S308
            getattr(record, field),
        )
        for label, field in (("标题", "title"), ("诉求内容", "content"), ("答复内容", "reply"))
    ]
    return render(
        request,
        "public/review_detail.html",
        {"record": record, "sides": sides, "error": error, "ticket": record.ticket},
        status=400 if error else 200,
    )
