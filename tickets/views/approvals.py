"""The approval queue (待审批): extension requests waiting for a supervisor's decision, and
replies whose public record waits for sign-off, each within the viewer's departments.

An extension is decided here in one click (the same service as the ticket page's form); a
reply is signed off on its review page, where original and redacted text sit side by side.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tickets.errors import TicketError, TicketNotFound
from tickets.selectors_case import (
    APPROVALS_SHOWN,
    may_decide_extensions,
    may_sign_off_replies,
    pending_extensions,
    pending_sign_offs,
)
from tickets.services.extensions import ticket_extension_decide
from tickets.views.auth import staff_required

NOTE_MAX = 2000


@staff_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    decides, signs = may_decide_extensions(request.user), may_sign_off_replies(request.user)
    if not (decides or signs):
        raise Http404("您的角色没有需要审批的事项。")
    extensions = list(pending_extensions(user=request.user)[: APPROVALS_SHOWN + 1])
    sign_offs = list(pending_sign_offs(user=request.user)[: APPROVALS_SHOWN + 1])
    return render(
        request,
        "inbox/approvals.html",
        {
            "decides": decides,
            "signs": signs,
            "extensions": extensions[:APPROVALS_SHOWN],
            "extensions_more": len(extensions) > APPROVALS_SHOWN,
            "sign_offs": sign_offs[:APPROVALS_SHOWN],
            "sign_offs_more": len(sign_offs) > APPROVALS_SHOWN,
            "shown": APPROVALS_SHOWN,
        },
    )


@staff_required
@require_POST
def extension_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    """批准 or 驳回 one request from the queue; back to the queue with what happened."""
    decision = request.POST.get("decision", "")
    note = (request.POST.get("note") or "").strip()[:NOTE_MAX]
    if decision not in ("approve", "reject"):
        messages.error(request, "请选择批准或驳回。")
        return redirect("/inbox/approvals/")
    if not pending_extensions(user=request.user).filter(pk=request_id).exists():
        # Decided by someone else meanwhile, or not the viewer's to decide: say which.
        messages.error(request, "该延期申请已处理，或不在您的审批范围内。")
        return redirect("/inbox/approvals/")
    try:
        decided = ticket_extension_decide(
            actor=request.user, request_id=request_id, approve=decision == "approve", note=note
        )
    except TicketNotFound:
        messages.error(request, "该延期申请已处理，或不在您的审批范围内。")
    except TicketError as error:
        messages.error(request, error.message)
    else:
        verdict = "已批准" if decision == "approve" else "已驳回"
        messages.success(
            request,
            f"工单 {decided.ticket.case_no} 的延期申请（{decided.days} 个工作日）{verdict}。",
        )
    return redirect("/inbox/approvals/")
