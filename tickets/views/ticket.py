"""The ticket page: what the citizen sent, the timeline, the deadlines, one form per action.

A POST parses one form and calls one service. When the ticket changed since the page was
shown, the service refuses (ConflictError) and the page comes back with what changed, the
latest timeline, and the user's text still in the form: nothing is overwritten.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tickets.channels import channel_badge
from tickets.errors import ActionForbidden, ConflictError, TicketError, TicketNotFound
from tickets.forms import ACTION_FORMS, ActionForm, AssignForm
from tickets.hotspots.selectors import ticket_links
from tickets.models import ExtensionRequest, State, Ticket, TicketEvent
from tickets.selectors import ticket_access
from tickets.selectors_case import citizen_earlier_cases, ticket_duplicates, ticket_notices
from tickets.suggest.selectors import routing_suggest
from tickets.views.actions import (
    BUTTON_LABELS,
    BUTTON_ONLY,
    PERFORM,
    SUCCESS_MESSAGES,
    actions_for,
    pending_extension,
)
from tickets.views.auth import staff_required
from tickets.views.display import (
    attachment_view,
    deadline_history,
    event_details,
    event_label,
    next_deadline,
)
from tickets.views.reply_templates import reply_templates

# Fields whose typed text the conflict panel shows back, so nothing a user wrote is lost.
TEXT_FIELDS = ("content", "reason", "question", "note", "text", "into", "lead", "days")
# Before a department has the case, the dispatcher is shown where similar cases went.
SUGGEST_STATES = (State.NEW, State.ACKNOWLEDGED)


def _access(request: HttpRequest, case_no: str) -> Ticket:
    try:
        return ticket_access(user=request.user, case_no=case_no)
    except TicketNotFound:
        raise Http404("工单不存在或您无权查看。") from None


def _initial(ticket: Ticket, action: str, last_event: int, pending: Any) -> dict[str, Any]:
    initial: dict[str, Any] = {"expected_version": ticket.version, "seen_event": last_event}
    if action == "assign" and ticket.category is not None:
        initial["department"] = ticket.category.default_department_id
    elif action == "classify":
        initial.update(
            request_type=ticket.request_type, urgency=ticket.urgency, category=ticket.category_id
        )
    elif action == "decide_extension" and pending is not None:
        initial["request_id"] = pending.pk
    return initial


def _timeline(events: list[TicketEvent], seen: int | None) -> list[dict[str, Any]]:
    return [
        {
            "event": event,
            "label": event_label(event),
            "details": event_details(event),
            "new": seen is not None and event.pk > seen,
            "to_label": State(event.to_state).label if event.to_state in State.values else "",
        }
        for event in events
    ]


def _context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    bound: ActionForm | None = None,
    bound_action: str = "",
    seen: int | None = None,
    conflict: str = "",
    typed: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    events = list(ticket.events.all())
    last_event = events[-1].pk if events else 0
    pending = pending_extension(ticket)
    allowed = actions_for(ticket=ticket, user=request.user, pending=pending)
    actions = []
    for action in allowed:
        form_class = ACTION_FORMS[action]
        if bound is not None and action == bound_action:
            form = bound
        elif action == "assign":
            initial = _initial(ticket, action, last_event, pending)
            form = AssignForm(
                initial=initial, case_no=ticket.case_no, department_id=initial.get("department")
            )
        else:
            form = form_class(initial=_initial(ticket, action, last_event, pending))
        actions.append(
            {
                "name": action,
                "label": BUTTON_LABELS.get(action, action),
                "form": form,
                "button_only": action in BUTTON_ONLY,
                "open": bound is not None and action == bound_action,
            }
        )
    citizen_messages = [event for event in events if event.kind == "citizen_message"]
    suggest = ticket.state in SUGGEST_STATES and ("assign" in allowed or "classify" in allowed)
    timeline = _timeline(events, seen)
    earlier, earlier_more = citizen_earlier_cases(user=request.user, ticket=ticket)
    return {
        "ticket": ticket,
        "duplicates": ticket_duplicates(user=request.user, ticket=ticket),
        "earlier_cases": earlier,
        "earlier_more": earlier_more,
        "notices": ticket_notices(ticket=ticket),
        "icon": channel_badge(ticket.channel),
        "deadline": next_deadline(ticket),
        "deadline_history": deadline_history(events),
        "timeline": timeline,
        "changed": [item for item in timeline if item["new"]],
        "citizen_messages": citizen_messages,
        "attachments": [attachment_view(item) for item in ticket.attachments.order_by("pk")],
        "replies": list(ticket.replies.select_related("author", "department")),
        "extensions": list(ticket.extensions.select_related("requested_by", "decided_by")),
        "pending_extension": pending,
        "actions": actions,
        "reply_templates": reply_templates(ticket) if "reply" in allowed else [],
        "last_event_id": last_event,
        "conflict": conflict,
        "typed": typed or [],
        "extension_status": ExtensionRequest.Status,
        "suggestion": routing_suggest(ticket=ticket) if suggest else None,
        "may_assign": "assign" in allowed,
        "may_classify": "classify" in allowed,
        "links": ticket_links(ticket=ticket, user=request.user),
    }


@staff_required
def ticket_page(request: HttpRequest, case_no: str) -> HttpResponse:
    ticket = _access(request, case_no)
    return render(request, "inbox/ticket.html", _context(request, ticket))


def _assign_department(ticket: Ticket, picked: Any) -> int | None:
    """The department an assign form is about: the one picked, else the category's default."""
    department_id = _int(picked)
    if department_id is None and ticket.category is not None:
        department_id = ticket.category.default_department_id
    return department_id


def _bound(action: str, ticket: Ticket, data: Any) -> ActionForm:
    if action == "assign":
        department_id = _assign_department(ticket, data.get("department"))
        return AssignForm(data, case_no=ticket.case_no, department_id=department_id)
    return ACTION_FORMS[action](data)


@staff_required
@require_GET
def assignees(request: HttpRequest, case_no: str) -> HttpResponse:
    """The assign form's assignee menu for the department just picked (htmx swaps it in):
    that department's handlers; for "the category's default", the default's."""
    ticket = _access(request, case_no)
    department_id = _assign_department(ticket, request.GET.get("department"))
    form = AssignForm(case_no=ticket.case_no, department_id=department_id)
    return HttpResponse(str(form["assignee"]))


def _typed(data: Any) -> list[tuple[str, str]]:
    labels = {
        "content": "答复内容",
        "reason": "理由",
        "question": "补充内容",
        "note": "说明",
        "text": "备注",
        "into": "合并到",
        "lead": "主案编号",
        "days": "延期工作日",
    }
    return [(labels[key], data.get(key)) for key in TEXT_FIELDS if (data.get(key) or "").strip()]


@staff_required
@require_POST
def ticket_action(request: HttpRequest, case_no: str, action: str) -> HttpResponse:
    ticket = _access(request, case_no)
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404("没有这个操作。")
    form = _bound(action, ticket, request.POST)
    seen = _int(request.POST.get("seen_event"))
    if not form.is_valid():
        context = _context(request, ticket, bound=form, bound_action=action, seen=seen)
        return render(request, "inbox/ticket.html", context, status=400)
    try:
        PERFORM[action](request.user, ticket, dict(form.cleaned_data))
    except ConflictError as error:
        return _conflict(request, ticket, action, error, seen)
    except TicketNotFound:
        raise Http404("工单不存在或您无权查看。") from None
    except ActionForbidden as error:
        messages.error(request, error.message)
        return render(request, "inbox/ticket.html", _context(request, ticket), status=403)
    except TicketError as error:
        if error.field and error.field in form.fields:
            form.add_error(error.field, error.message)
        else:
            form.add_error(None, error.message)
        context = _context(request, ticket, bound=form, bound_action=action, seen=seen)
        return render(request, "inbox/ticket.html", context, status=400)
    messages.success(request, f"工单 {ticket.case_no}：{SUCCESS_MESSAGES.get(action, '已保存。')}")
    try:
        ticket_access(user=request.user, ticket_id=ticket.pk)
    except TicketNotFound:
        return redirect("/inbox/")  # e.g. transferred out of the user's department
    return redirect(f"/inbox/tickets/{ticket.case_no}/")


def _conflict(
    request: HttpRequest, ticket: Ticket, action: str, error: TicketError, seen: int | None
) -> HttpResponse:
    """Show what changed since the page was shown; keep what the user typed, re-armed with
    the current version so that submitting again is a deliberate second decision."""
    latest = _access(request, ticket.case_no)
    data = request.POST.copy()
    data["expected_version"] = str(latest.version)
    last = latest.events.order_by("-id").values_list("id", flat=True).first() or 0
    data["seen_event"] = str(last)
    rearmed = _bound(action, latest, data)
    context = _context(
        request,
        latest,
        bound=rearmed,
        bound_action=action,
        seen=seen,
        conflict=error.message,
        typed=_typed(request.POST),
    )
    return render(request, "inbox/ticket.html", context, status=409)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
