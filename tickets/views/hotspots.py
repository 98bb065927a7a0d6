"""The 热点 panel's one click: merge a hot issue's open tickets into its lead case, or link
them under it. The queue page then shows what happened to each ticket (as after a bulk
action)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from tickets.errors import TicketError
from tickets.hotspots.services import hotspot_link, hotspot_merge
from tickets.text import id_or_none
from tickets.views.auth import staff_required

RESULTS_KEY = "inbox_bulk_results"  # the queue page's results box (tickets.views.queue)
LABELS = {"merge": "热点合并到主案", "link": "热点关联到主案"}


def _picks(values: list[str]) -> list[tuple[int, int | None]] | None:
    picks = []
    for value in values:
        ticket_id, _, version = value.partition(":")
        number = id_or_none(ticket_id)
        if number is None:
            return None
        picks.append((number, id_or_none(version)))
    return picks


@staff_required
@require_POST
def hotspot_act(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("action", "")
    lead = request.POST.get("lead", "")
    picks = _picks(request.POST.getlist("pick"))
    label = LABELS.get(action, "热点操作")
    errors = []
    if action not in LABELS:
        errors.append("没有这个操作。")
    if id_or_none(lead) is None:
        errors.append("主案无效，请刷新页面后重试。")
    if not picks:
        errors.append("没有可以处理的工单，请刷新页面后重试。")
    if errors or picks is None:
        request.session[RESULTS_KEY] = {"label": label, "items": [], "errors": errors}
        return redirect("/inbox/")
    service = hotspot_merge if action == "merge" else hotspot_link
    try:
        result = service(actor=request.user, lead_id=int(lead), picks=picks)
    except TicketError as error:
        request.session[RESULTS_KEY] = {"label": label, "items": [], "errors": [error.message]}
        return redirect("/inbox/")
    items = [{"case_no": o.case_no, "ok": o.ok, "message": o.message} for o in result.items]
    if result.left_out:
        errors.append(f"一次最多处理 {len(items)} 件，另有 {result.left_out} 件请再点一次。")
    request.session[RESULTS_KEY] = {
        "label": f"{label} {result.lead_case_no}",
        "items": items,
        "errors": errors,
    }
    return redirect("/inbox/")
