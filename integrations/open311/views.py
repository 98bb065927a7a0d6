"""GeoReport v2 endpoints. GET is open to all; POST needs an API key issued in the admin and
goes through the inbound journal and the one intake, like every channel."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from integrations.journal import NotProcessed, inbound_receive
from integrations.models import InboundMessage
from integrations.open311 import serializers
from integrations.open311.parser import CHANNEL, parser_for
from integrations.open311.render import error, iso, respond
from integrations.wire import text_problem
from tickets.models import Category, Ticket
from tickets.models_public import Open311ApiKey, PublicRecord

WINDOW = dt.timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 100


def _services() -> list[Category]:
    return list(Category.objects.filter(active=True).select_related("parent").order_by("code"))


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """``/open311/v2/`` itself: a page for people saying what the interface offers."""
    return render(
        request,
        "open311/index.html",
        {"base": request.build_absolute_uri("/open311/v2/"), "services": _services()},
    )


@require_GET
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri("/open311/v2/")
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return respond(fmt, "discovery", serializers.discovery(base, iso(today) or ""))


@require_GET
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    return respond(fmt, "services", [serializers.service(c) for c in _services()])


@require_GET
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        return error(fmt, 404, f"没有这个服务分类：{code}")
    return respond(fmt, "service_definition", serializers.service_definition(category))


def _moment(value: str, *, end: bool) -> dt.datetime | None:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        parsed = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _window(request: HttpRequest) -> tuple[dt.datetime, dt.datetime]:
    start_raw = request.GET.get("start_date", "").strip()
    end_raw = request.GET.get("end_date", "").strip()
    start = _moment(start_raw, end=False) if start_raw else None
    end = _moment(end_raw, end=True) if end_raw else None
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise ValueError("end_date 早于 start_date")
    if end - start > WINDOW:
        raise OverflowError
    return start, end


def _readable() -> Any:
    """Cases Open311 answers for by id: published ones, and those filed through Open311 itself
    (so a client can read back what it filed: service, agency, dates and status, never text).
    Any other id reveals nothing, published or not being the reviewer's call."""
    return Ticket.objects.select_related("category", "department", "public_record").filter(
        Q(public_record__status=PublicRecord.Status.PUBLISHED) | Q(channel=CHANNEL)
    )


def _by_id(public_ids: list[str]) -> Q:
    # A case is known by its public id; one published before the ticket had its own is known by
    # its record's (the two are the same for every case filed since).
    return Q(public_id__in=public_ids) | Q(public_record__public_id__in=public_ids)


def _record_id(ticket: Ticket) -> str:
    record = getattr(ticket, "public_record", None)
    return record.public_id if record is not None else ""


def _request_list(request: HttpRequest, fmt: str) -> HttpResponse:
    ids = [part.strip() for part in request.GET.get("service_request_id", "").split(",")]
    ids = [part for part in ids if part]
    tickets = _readable()
    if ids:
        # Listed ids override every other filter.
        wanted = ids[:MAX_IDS]
        found: dict[str, Ticket] = {}
        for ticket in tickets.filter(_by_id(wanted)):
            found[ticket.public_id or ""] = ticket
            found[_record_id(ticket)] = ticket
        items = [found[public_id] for public_id in wanted if public_id in found]
        return respond(fmt, "service_requests", [_item(ticket) for ticket in items])
    try:
        start, end = _window(request)
    except OverflowError:
        return error(fmt, 400, "start_date 与 end_date 相隔不能超过 90 天。")
    except ValueError:
        return error(fmt, 400, "start_date / end_date 应为 ISO 8601 日期时间，且结束不早于开始。")
    statuses = {part.strip() for part in request.GET.get("status", "").split(",") if part.strip()}
    if statuses - {"open", "closed"}:
        return error(fmt, 400, "status 只能是 open 或 closed。")
    # Lists show published cases only: nothing unreviewed is listed.
    records = tickets.filter(
        public_record__status=PublicRecord.Status.PUBLISHED,
        received_at__gte=start,
        received_at__lte=end,
    )
    codes = [part.strip() for part in request.GET.get("service_code", "").split(",") if part]
    if codes:
        records = records.filter(category__code__in=codes)
    if statuses == {"open"}:
        records = records.exclude(state__in=serializers.CLOSED_STATES)
    elif statuses == {"closed"}:
        records = records.filter(state__in=serializers.CLOSED_STATES)
    listed = records.order_by("-received_at", "-id")[:MAX_RESULTS]
    return respond(fmt, "service_requests", [_item(ticket) for ticket in listed])


def _item(ticket: Ticket) -> dict:
    record = getattr(ticket, "public_record", None)
    return serializers.service_request(ticket, record)


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    # Some clients send the key in the query string, the standard puts it in the form.
    given = request.POST.get("api_key") or request.GET.get("api_key", "")
    if text_problem(given) is not None:
        return error(fmt, 403, "api_key 无效或已停用，请向管理员申请。")
    key = Open311ApiKey.find_active(given)
    if key is None:
        # Refused before anything changed: nothing is journaled for an unknown client.
        return error(fmt, 403, "api_key 无效或已停用，请向管理员申请。")
    # The journal keeps what was sent, except the key itself.
    body = urlencode(
        [
            (name, value)
            for name in request.POST
            for value in request.POST.getlist(name)
            if name != "api_key"
        ]
    ).encode()
    token = secrets.token_urlsafe(12)
    try:
        outcome = inbound_receive(
            channel=CHANNEL,
            dedupe_key=token,
            raw_body=body,
            parse=parser_for(key.prefix),
            account=key.prefix,
            content_type="application/x-www-form-urlencoded",
            headers={"client": key.name[:100]},
        )
    except NotProcessed:
        # Kept in the journal and taken in by the recovery pass: the token finds the case.
        created = {"token": token, "service_notice": "已收到，稍后受理。", "account_id": None}
        return respond(fmt, "service_requests", [created])
    Open311ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    response = outcome.response
    if response.get("action") == "created" and outcome.inbound.ticket is not None:
        created = {
            "token": token,
            # The id this request is read back by (requests/{id}), as /public/ will show it.
            "service_request_id": outcome.inbound.ticket.public_id,
            "service_notice": response.get("reply", ""),
            "account_id": None,
        }
        return respond(fmt, "service_requests", [created])
    if response.get("action") == "failed":
        return error(fmt, 503, str(response.get("reason", "处理失败，已记录。")))
    return error(fmt, 400, str(response.get("reason") or "请求未被受理。"))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    return _request_list(request, fmt)


@require_GET
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    ticket = _readable().filter(_by_id([request_id])).first()
    if ticket is None:
        return error(fmt, 404, f"没有编号为 {request_id} 的诉求。")
    return respond(fmt, "service_requests", [_item(ticket)])


@require_GET
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    inbound = (
        InboundMessage.objects.select_related("ticket")
        .filter(channel=CHANNEL, dedupe_key=token)
        .first()
    )
    if inbound is None:
        return error(fmt, 404, "没有这个 token。")
    public_id = inbound.ticket.public_id if inbound.ticket else None
    return respond(fmt, "service_requests", [{"service_request_id": public_id, "token": token}])


def not_found(request: HttpRequest, path: str) -> HttpResponse:
    fmt = "json" if path.endswith(".json") else "xml"
    return error(fmt, 404, "没有这个接口。见 discovery.xml。")
