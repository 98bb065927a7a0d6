"""The queue: the page, its rows (for htmx and live updates), catch-up, saved views, bulk."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tickets.errors import TicketError
from tickets.forms import BulkForm, QueueFilterForm, SavedViewForm
from tickets.hotspots.selectors import hot_issues_for_inbox
from tickets.models import Ticket
from tickets.selectors import ticket_visible_q, user_role
from tickets.views import queries
from tickets.views.actions import PERFORM
from tickets.views.auth import staff_required
from tickets.views.departments import DepartmentNode, department_nodes
from tickets.views.rows import queue_rows, row_html, rows_html

SAVED_VIEWS_KEY = "inbox_saved_views"
BULK_RESULTS_KEY = "inbox_bulk_results"
MAX_SAVED_VIEWS = 20
# Query parameters that are filters (not the cursor, not catch-up bookkeeping).
FILTER_KEYS = (
    "q",
    "state",
    "channel",
    "department",
    "category",
    "request_type",
    "overdue",
    "supervised",
    "mine",
)


def filter_query(params: QueryDict) -> str:
    """The filter part of a query string, for links, saved views and row fetches."""
    pairs = [(key, value) for key in FILTER_KEYS for value in params.getlist(key) if value]
    return urlencode(pairs)


def queue_queryset(
    request: HttpRequest,
    departments: list[DepartmentNode] | None = None,
    extra_fields: tuple[str, ...] = (),
) -> tuple[QueueFilterForm, queries.QueueFilter, Any]:
    """The request's filter form, its filter, and the viewer's tickets under it."""
    form = QueueFilterForm(request.GET, departments=departments)
    filters = form.to_filter()
    queryset = queries.ticket_queryset_for_inbox(
        user=request.user, filters=filters, now=timezone.now(), extra_fields=extra_fields
    )
    return form, filters, queryset


def _may_bulk(request: HttpRequest) -> bool:
    from tickets.permissions import role_may

    role = user_role(request.user)
    return role is not None and any(
        role_may(role, action, own_department=True)
        for action in ("acknowledge", "assign", "merge_into")
    )


@staff_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    departments = department_nodes()  # one tree for both forms' department menus
    form, filters, queryset = queue_queryset(request, departments)
    page = queries.queue_page(queryset=queryset, settled=filters.settled)
    query = filter_query(request.GET)
    may_bulk = _may_bulk(request)
    context = {
        "form": form,
        "rows": bool(page.rows),
        "rows_html": rows_html(queue_rows(page.rows), may_bulk=may_bulk),
        "cursor": page.cursor,
        "settled_cut": page.settled_cut,
        "filter_query": query,
        "saved_views": request.session.get(SAVED_VIEWS_KEY, []),
        "last_event_id": queries.last_event_id(),
        "bulk_results": request.session.pop(BULK_RESULTS_KEY, None),
        "may_bulk": may_bulk,
        "bulk_form": BulkForm(departments=departments, auto_id="bulk_%s") if may_bulk else None,
        "searching_fulltext": bool(filters.q),
        "searching_all_states": bool(filters.q) and not filters.states,
    }
    panel = hot_issues_for_inbox(user=request.user)
    context["hotspots"] = panel if panel.may_act else None
    return render(request, "inbox/queue.html", context)


@staff_required
@require_GET
def rows(request: HttpRequest) -> HttpResponse:
    """The next page of rows (htmx "load more")."""
    _, filters, queryset = queue_queryset(request)
    page = queries.queue_page(
        queryset=queryset, cursor=request.GET.get("cursor", ""), settled=filters.settled
    )
    context = {
        "rows_html": rows_html(queue_rows(page.rows), may_bulk=_may_bulk(request)),
        "cursor": page.cursor,
        "settled_cut": page.settled_cut,
        "filter_query": filter_query(request.GET),
    }
    return render(request, "inbox/_rows.html", context)


@staff_required
@require_GET
def row(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One row, as the viewer may see it under the page's filters; 204 when it is not (or
    no longer) in the viewer's queue, so the page removes it."""
    _, _, queryset = queue_queryset(request)
    ticket = queryset.filter(pk=ticket_id).first()
    if ticket is None:
        return HttpResponse(status=204)
    return HttpResponse(row_html(queue_rows([ticket])[0], may_bulk=_may_bulk(request), fresh=True))


@staff_required
@require_GET
def changes(request: HttpRequest) -> JsonResponse:
    """Catch-up after a reconnect: the rows of every visible ticket changed since an event."""
    try:
        since = max(0, int(request.GET.get("since", "0")))
    except ValueError:
        since = 0
    ids, newest, truncated = queries.tickets_changed_since(user=request.user, event_id=since)
    _, _, queryset = queue_queryset(request)
    in_queue = {item.pk: item for item in queue_rows(queryset.filter(pk__in=ids))}
    may_bulk = _may_bulk(request)
    rows = []
    for ticket_id in ids:
        item = in_queue.get(ticket_id)
        html = row_html(item, may_bulk=may_bulk, fresh=True) if item is not None else None
        rows.append({"id": ticket_id, "html": html})
    return JsonResponse({"last_event_id": newest, "rows": rows, "reload": truncated})


@staff_required
@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    """Saved views live in the session (no model for them yet)."""
    form = SavedViewForm(request.POST)
    if form.is_valid():
        query = filter_query(QueryDict(form.cleaned_data["query"] or ""))
        saved = [
            view
            for view in request.session.get(SAVED_VIEWS_KEY, [])
            if view["name"] != form.cleaned_data["name"]
        ]
        saved.append({"name": form.cleaned_data["name"], "query": query})
        request.session[SAVED_VIEWS_KEY] = saved[-MAX_SAVED_VIEWS:]
        return redirect(f"/inbox/?{query}" if query else "/inbox/")
    return redirect("/inbox/")


@staff_required
@require_POST
def view_delete(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    request.session[SAVED_VIEWS_KEY] = [
        view for view in request.session.get(SAVED_VIEWS_KEY, []) if view["name"] != name
    ]
    return redirect("/inbox/")


@staff_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Each picked ticket goes through the same service as its own button, in its own
    transaction; the queue then shows what succeeded and what did not, ticket by ticket."""
    form = BulkForm(request.POST)
    back = filter_query(QueryDict(request.POST.get("back", "")))
    target = f"/inbox/?{back}" if back else "/inbox/"
    if not form.is_valid():
        errors = [str(error) for errors in form.errors.values() for error in errors]
        request.session[BULK_RESULTS_KEY] = {"label": "批量操作", "items": [], "errors": errors}
        return redirect(target)
    action = form.cleaned_data["action"]
    case_nos = dict(
        Ticket.objects.filter(
            ticket_visible_q(request.user), pk__in=[pk for pk, _ in form.cleaned_data["pick"]]
        ).values_list("pk", "case_no")
    )
    items = []
    for ticket_id, version in form.cleaned_data["pick"]:
        data = {
            "expected_version": version,
            "department": form.cleaned_data.get("department"),
            "into": (form.cleaned_data.get("into") or "").strip(),
        }
        case_no = case_nos.get(ticket_id, f"#{ticket_id}")
        try:
            ticket = Ticket(pk=ticket_id)
            PERFORM[action](request.user, ticket, data)
            items.append({"case_no": case_no, "ok": True, "message": "成功"})
        except TicketError as error:
            items.append({"case_no": case_no, "ok": False, "message": error.message})
    label = dict(BulkForm.base_fields["action"].choices)[action]  # type: ignore[attr-defined]
    request.session[BULK_RESULTS_KEY] = {"label": label, "items": items, "errors": []}
    return redirect(target)
