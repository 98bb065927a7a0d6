"""The citizen's pages: file a case, see it filed, look it up, add information, rate it; and
the staff-only attachment download.

Each view checks its input and hands over to one service (filing goes through the inbound
journal like every channel). Pages that follow a look-up carry a short-lived encrypted token in
their address (``tokens``), never the case number, the ticket's id or anything personal.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.csp import file_csp
from integrations.journal import OUTAGE, NotProcessed, inbound_receive
from integrations.models import InboundMessage
from integrations.website import ratelimit, tokens
from integrations.website.forms import (
    MAX_FILE_BYTES,
    MAX_FILES,
    AddInfoForm,
    CaseForm,
    FeedbackForm,
    TrackForm,
    new_token,
)
from integrations.website.parser import website_message
from integrations.website.timeline import citizen_timeline, open_question
from tickets.errors import TicketError, TicketNotFound
from tickets.models import Attachment, Channel, State, Ticket
from tickets.selectors import ticket_access
from tickets.services.citizen import (
    attachment_store,
    attachments_discard,
    ticket_citizen_add_info,
    ticket_for_citizen,
    ticket_uploads_bind,
)
from tickets.services.feedback import ticket_feedback

logger = logging.getLogger(__name__)

FILED_SALT, TRACK_SALT = "website.filed", "website.track"
FILED_MAX_AGE = 24 * 3600  # the confirmation page may be reloaded for a day
MAX_BODY_BYTES = MAX_FILES * MAX_FILE_BYTES + 1024 * 1024  # the files and the text fields
TRACK_MAX_AGE = 2 * 3600  # after a look-up, the case page stays open for two hours
NOT_FOUND = "未找到该诉求，请核对诉求编号和查询码。"
TOO_MANY = "提交过于频繁：同一网络每小时最多提交 {limit} 件诉求，请稍后再试，或拨打 12345 热线。"
TOO_MANY_LOOKUPS = (
    "查询失败次数过多：同一网络每小时最多 {limit} 次未查到，请稍后再试，或拨打 12345 热线查询。"
)
TOO_LARGE = "提交的内容过大：附件最多 5 个，每个不超过 10 MB，请删减后重新填写。"
FAILED = "系统暂时无法受理您的诉求，您填写的内容已保存，请稍后再试或拨打 12345 热线。"


def _sign(ticket: Ticket, salt: str) -> str:
    return tokens.token_for(ticket.pk, salt)


def _unsign(token: str, salt: str, max_age: int) -> Ticket | None:
    ticket_id = tokens.ticket_id_from(token, salt, max_age)
    if ticket_id is None:
        return None
    return (
        Ticket.objects.select_related("category", "department", "citizen")
        .filter(pk=ticket_id)
        .first()
    )


def _render_file(
    request: HttpRequest, form: CaseForm, status: int = 200, fresh_token: bool = False, **extra: Any
) -> HttpResponse:
    # The same token while the citizen corrects the form (so a double click still files one
    # case); a fresh one once the journal has answered for the old token.
    token = "" if fresh_token or not form.is_bound else form.token_value()
    token = token or new_token()
    return render(
        request, "website/file.html", {"form": form, "token": token, **extra}, status=status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def case_file(request: HttpRequest) -> HttpResponse:
    """网上诉求: the form; a valid submission is journaled and taken in, then confirmed."""
    if request.method == "GET":
        return _render_file(request, CaseForm())
    if _too_large(request):
        # Refused before reading the body: nothing of it is kept.
        return _render_file(request, CaseForm(), status=413, refused=TOO_LARGE)
    form = CaseForm(request.POST, request.FILES)
    if form.is_robot():
        # Refused quietly: a fresh, empty form, as if nothing happened; nothing is stored.
        logger.info("website: honeypot filled from %s", ratelimit.client_address(request))
        return _render_file(request, CaseForm())
    token = form.token_value()
    dedupe_key = f"form:{token}" if token else f"form:{new_token()}"
    earlier = _already_filed(dedupe_key)
    if earlier is not None:  # a double click: the first submission's case
        return redirect("website:filed", token=_sign(earlier, FILED_SALT))
    if ratelimit.rate_exceeded(request):
        limit, _window = ratelimit.rate_limit()
        return _render_file(request, form, status=429, refused=TOO_MANY.format(limit=limit))
    if not form.is_valid():
        return _render_file(request, form, status=400)
    return _file_valid(request, form, dedupe_key)


def _too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > MAX_BODY_BYTES


def _already_filed(dedupe_key: str) -> Ticket | None:
    row = (
        InboundMessage.objects.filter(channel=Channel.WEBSITE, dedupe_key=dedupe_key)
        .exclude(response=None)
        .select_related("ticket")
        .first()
    )
    return row.ticket if row is not None and row.ticket is not None else None


def _file_valid(request: HttpRequest, form: CaseForm, dedupe_key: str) -> HttpResponse:
    stored: list[str] = []
    body = form.message_fields()
    body["attachments"] = []
    for upload in form.cleaned_data["attachments"]:
        name = attachment_store(upload=upload)
        stored.append(name)
        body["attachments"].append(
            {
                "name": upload.name,
                "content_type": upload.content_type,
                "size": upload.size,
                "storage_name": name,
            }
        )
    try:
        outcome = inbound_receive(
            channel=Channel.WEBSITE,
            dedupe_key=dedupe_key,
            raw_body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            parse=website_message,
            content_type="application/json",
            headers={"source": "form"},
        )
    except NotProcessed:
        # Kept in the journal, taken in by the recovery pass; the same token resubmitted
        # (the citizen's retry) finds that row, so it is never filed twice.
        return _render_file(request, form, status=503, refused=FAILED)
    except OUTAGE:
        # Nothing was kept: the citizen still has the form; its files go with it.
        attachments_discard(stored)
        raise
    ticket = outcome.inbound.ticket
    if outcome.repeated:  # a simultaneous double click: the first one stored its own files
        attachments_discard(stored)
    if ticket is None or not outcome.response.get("case_no"):
        answer = outcome.response
        if answer.get("action") == "rejected":
            attachments_discard(stored)
            form.add_error(None, answer.get("reason") or "诉求未能受理，请检查填写的内容。")
            return _render_file(request, form, status=400, fresh_token=True)
        # Failed: the journal keeps the message (and its files) for an administrator.
        return _render_file(request, form, status=503, fresh_token=True, refused=FAILED)
    ticket_uploads_bind(ticket_id=ticket.pk)
    if not outcome.repeated:
        ratelimit.rate_record(request)
    return redirect("website:filed", token=_sign(ticket, FILED_SALT))


@never_cache
@require_GET
def case_filed(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _unsign(token, FILED_SALT, FILED_MAX_AGE)
    if ticket is None:
        messages.info(request, "确认页已过期。请凭诉求编号和查询码查询进度。")
        return redirect("website:track")
    return render(request, "website/filed.html", {"ticket": ticket})


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """进度查询: both the case number and the query code, or nothing at all."""
    if request.method == "GET":
        form = TrackForm(initial={"case_no": request.GET.get("case_no", "")[:14]})
        return render(request, "website/track.html", {"form": form})
    form = TrackForm(request.POST)
    if ratelimit.TRACK_FAILED.exceeded(request):
        limit, _window = ratelimit.TRACK_FAILED.limit()
        refused = TOO_MANY_LOOKUPS.format(limit=limit)
        return render(request, "website/track.html", {"form": form, "refused": refused}, status=429)
    if not form.is_valid():
        return render(request, "website/track.html", {"form": form}, status=400)
    ticket = ticket_for_citizen(
        case_no=form.cleaned_data["case_no"], query_code=form.cleaned_data["query_code"]
    )
    if ticket is None:
        ratelimit.TRACK_FAILED.record(request)  # guessing codes costs; a good look-up does not
        return render(
            request, "website/track.html", {"form": form, "not_found": NOT_FOUND}, status=404
        )
    return redirect("website:case", token=_sign(ticket, TRACK_SALT))


def _case_context(ticket: Ticket, token: str) -> dict[str, Any]:
    feedback_due = (
        ticket.state == State.REPLIED
        and not ticket.feedback.filter(cycle=ticket.reopen_count).exists()
    )
    return {
        "ticket": ticket,
        "token": token,
        "state_label": State(ticket.state).label,
        "steps": citizen_timeline(ticket),
        "replies": ticket.replies.select_related("department").order_by("created_at", "id"),
        "attachments": ticket.attachments.order_by("created_at", "id").only("name", "created_at"),
        "waiting": ticket.state == State.WAITING_CITIZEN,
        "question": open_question(ticket) if ticket.state == State.WAITING_CITIZEN else "",
        "feedback_due": feedback_due,
        "open": ticket.state not in (State.REPLIED, State.CLOSED, State.MERGED, State.INVALID),
    }


def _case_or_expired(request: HttpRequest, token: str) -> Ticket | None:
    ticket = _unsign(token, TRACK_SALT, TRACK_MAX_AGE)
    if ticket is None:
        messages.info(request, "查询页面已过期，请重新输入诉求编号和查询码。")
    return ticket


@never_cache
@require_GET
def case_detail(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _case_or_expired(request, token)
    if ticket is None:
        return redirect("website:track")
    context = _case_context(ticket, token)
    context.update(info_form=AddInfoForm(), feedback_form=FeedbackForm())
    return render(request, "website/case.html", context)


@never_cache
@require_POST
def case_add_info(request: HttpRequest, token: str) -> HttpResponse:
    """补充材料 when the handler asked for it."""
    ticket = _case_or_expired(request, token)
    if ticket is None:
        return redirect("website:track")
    form = AddInfoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            ticket_citizen_add_info(
                ticket_id=ticket.pk,
                text=form.cleaned_data["text"],
                attachments=form.cleaned_data["attachments"],
            )
        except TicketError as exc:
            form.add_error("text" if exc.field == "text" else None, exc.message)
        else:
            messages.success(request, "补充材料已收到，您的诉求已恢复办理。")
            return redirect("website:case", token=token)
    context = _case_context(ticket, token)
    context.update(info_form=form, feedback_form=FeedbackForm())
    return render(request, "website/case.html", context, status=400)


@never_cache
@require_POST
def case_rate(request: HttpRequest, token: str) -> HttpResponse:
    """评价: satisfied closes the case, unsatisfied reopens it."""
    ticket = _case_or_expired(request, token)
    if ticket is None:
        return redirect("website:track")
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            feedback = ticket_feedback(
                ticket_id=ticket.pk,
                satisfaction=form.cleaned_data["satisfaction"],
                resolved=form.cleaned_data["resolved"] == "yes",
                comment=form.cleaned_data["comment"],
                channel=Channel.WEBSITE,
            )
        except TicketError as exc:
            form.add_error(None, exc.message)
        else:
            if feedback.satisfaction == feedback.Satisfaction.UNSATISFIED:
                messages.success(request, "感谢您的评价。您的诉求已重新交办，我们会再次办理。")
            else:
                messages.success(request, "感谢您的评价，诉求已办结。")
            return redirect("website:case", token=token)
    context = _case_context(ticket, token)
    context.update(info_form=AddInfoForm(), feedback_form=form)
    return render(request, "website/case.html", context, status=400)


@never_cache
@require_GET
@file_csp
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """A citizen's file, for staff who may see its ticket; a 404 for anyone else."""
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None or attachment.ticket_id is None or not attachment.file:
        raise Http404("附件不存在或您无权查看。")
    try:
        ticket_access(user=request.user, ticket_id=attachment.ticket_id)
    except TicketNotFound:
        raise Http404("附件不存在或您无权查看。")
    try:
        handle = default_storage.open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("附件文件已丢失。")
    content_type = attachment.content_type or "application/octet-stream"
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=content_type == "application/octet-stream",
        filename=attachment.name or f"附件{attachment.pk}",
    )
    response["Cache-Control"] = "private, no-store"
    return response
