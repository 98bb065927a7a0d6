"""Staff pages for reviewing public records: original and redacted side by side, with every
span of the public copy that still looks like a number, an ID or a handle flagged."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from tickets import publication
from tickets.errors import ConfirmationRequired, TicketError, TicketNotFound
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
            "rows": [
                (record, _mask_summary(record), len(publication.public_record_suspects(record)))
                for record in records[:200]
            ],
            "status": status,
            "tabs": STATUS_TABS,
        },
    )


def _decide(request: HttpRequest, record: PublicRecord) -> PublicRecord:
    return publication.public_record_review(
        actor=request.user,
        record_id=record.pk,
        action=request.POST.get("action", ""),
        title=request.POST.get("title"),
        content=request.POST.get("content"),
        reply=request.POST.get("reply"),
        address=request.POST.get("address"),
        reason=request.POST.get("reason", ""),
        confirm=request.POST.get("confirm", ""),
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    try:
        record = publication.public_record_access(user=request.user, record_id=record_id)
    except TicketNotFound:
        raise Http404("没有找到该公开记录，或您无权审核。")
    error, status = "", 200
    confirm: dict[str, Any] | None = None
    # What the reviewer typed is shown again when the decision is refused, never lost.
    posted = {
        field: request.POST[field] for field in publication.PUBLIC_FIELDS if field in request.POST
    }
    if request.method == "POST":
        try:
            record = _decide(request, record)
        except ConfirmationRequired as exc:
            error, status = exc.message, exc.status
            confirm = {"token": exc.token, "items": exc.items}
        except TicketError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, f"已{publication.ACTIONS[request.POST['action']]}。")
            return redirect("public:review_detail", record_id=record.pk)
    copy = {field: posted.get(field, getattr(record, field)) for field in publication.PUBLIC_FIELDS}
    originals = publication.original_redaction(record)
    sides = [
        (
            label,
            field,
            mark_safe(highlight_original(originals[field].original, originals[field].masks)),  # noqa: S308
            mark_safe(highlight_masked(copy[field])),  # noqa: S308
            copy[field],
        )
        for field, label in publication.PUBLIC_FIELDS.items()
    ]
    suspects = [] if record.confidential else publication.public_copy_suspects(copy)
    return render(
        request,
        "public/review_detail.html",
        {
            "record": record,
            "sides": sides,
            "error": error,
            "confirm": confirm,
            "suspects": [(publication.PUBLIC_FIELDS[field], item) for field, item in suspects],
            "reason": request.POST.get("reason", ""),
            "ticket": record.ticket,
        },
        status=status,
    )
