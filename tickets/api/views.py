"""REST API v1. Views parse input and call one selector or service; they never write tickets."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.cache import fallback_cache
from integrations.journal import NotProcessed, inbound_receive
from integrations.website.parser import website_message
from tickets import services
from tickets.api import serializers as s
from tickets.api.pagination import keyset_page
from tickets.errors import InvalidInput
from tickets.models import Channel, Ticket
from tickets.permissions import ACTIONS, role_may
from tickets.selectors import ticket_access, ticket_list_for_user, user_role

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="输入有误（errors 列出字段和原因）"),
    401: OpenApiResponse(s.ErrorSerializer, description="未登录"),
    403: OpenApiResponse(s.ErrorSerializer, description="无权执行"),
    404: OpenApiResponse(s.ErrorSerializer, description="工单不存在或无权查看"),
}
CONFLICT = {409: OpenApiResponse(s.ErrorSerializer, description="状态不允许或已被他人修改")}


class IsMinshengStaff(BasePermission):
    """Only users with a Minsheng role (or superusers) use the staff API."""

    message = "您没有使用工单系统的权限。"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_role(request.user) is not None


class RoleMayAct(BasePermission):
    """Refuse an action the user's role never allows, before looking at the input."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        action: str = getattr(view, "action_name", "")
        role = user_role(request.user)
        if role is None or not role_may(role, action, own_department=True):
            self.message = f"您的角色不能对工单执行「{ACTIONS.get(action, action)}」。"
            return False
        return True


STAFF = [IsAuthenticated, IsMinshengStaff]


def _detail(ticket: Ticket, request: Request) -> dict[str, Any]:
    return dict(s.TicketDetailSerializer(ticket, context={"request": request}).data)


class TicketListView(APIView):
    permission_classes = STAFF

    @extend_schema(
        operation_id="tickets_list",
        summary="工单列表（按权限范围，键集分页）",
        parameters=[s.TicketListQuerySerializer],
        responses={200: s.TicketPageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = s.TicketListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        limit: int = params["limit"]
        rows = ticket_list_for_user(
            user=request.user,
            state=params.get("state"),
            department_id=params.get("department"),
            channel=params.get("channel"),
            overdue=params.get("overdue"),
            now=timezone.now(),
            after_id=params.get("after"),
            limit=limit + 1,
        )
        page, next_url = keyset_page(request=request, rows=list(rows), limit=limit)
        results = s.TicketListSerializer(page, many=True).data
        return Response({"results": results, "next": next_url})


class TicketDetailView(APIView):
    permission_classes = STAFF

    @extend_schema(
        operation_id="tickets_retrieve",
        summary="工单详情（时限、答复、时间线、可执行的操作）",
        responses={200: s.TicketDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, case_no: str) -> Response:
        ticket = ticket_access(user=request.user, case_no=case_no)
        return Response(_detail(ticket, request))


# --- one POST per action -----------------------------------------------------------------

Perform = Callable[[Any, int, dict[str, Any]], Ticket]


def _version(data: dict[str, Any]) -> int | None:
    return data.get("expected_version")


ACTION_ENDPOINTS: dict[str, tuple[type[serializers.Serializer], Perform]] = {
    "acknowledge": (
        s.AcknowledgeInputSerializer,
        lambda actor, pk, d: services.ticket_acknowledge(
            actor=actor, ticket_id=pk, expected_version=_version(d)
        ),
    ),
    "assign": (
        s.AssignInputSerializer,
        lambda actor, pk, d: services.ticket_assign(
            actor=actor,
            ticket_id=pk,
            department_id=d.get("department"),
            assignee_id=d.get("assignee"),
            expected_version=_version(d),
        ),
    ),
    "accept": (
        s.AcceptInputSerializer,
        lambda actor, pk, d: services.ticket_accept(
            actor=actor, ticket_id=pk, expected_version=_version(d)
        ),
    ),
    "return_to_dispatch": (
        s.ReturnInputSerializer,
        lambda actor, pk, d: services.ticket_return(
            actor=actor, ticket_id=pk, reason=d["reason"], expected_version=_version(d)
        ),
    ),
    "transfer": (
        s.TransferInputSerializer,
        lambda actor, pk, d: services.ticket_transfer(
            actor=actor,
            ticket_id=pk,
            department_id=d["department"],
            reason=d["reason"],
            expected_version=_version(d),
        ),
    ),
    "request_info": (
        s.RequestInfoInputSerializer,
        lambda actor, pk, d: services.ticket_request_info(
            actor=actor, ticket_id=pk, question=d["question"], expected_version=_version(d)
        ),
    ),
    "resume": (
        s.ResumeInputSerializer,
        lambda actor, pk, d: services.ticket_resume(
            actor=actor, ticket_id=pk, note=d.get("note", ""), expected_version=_version(d)
        ),
    ),
    "reply": (
        s.ReplyInputSerializer,
        lambda actor, pk, d: services.ticket_reply(
            actor=actor, ticket_id=pk, content=d["content"], expected_version=_version(d)
        ),
    ),
    "reopen": (
        s.ReopenInputSerializer,
        lambda actor, pk, d: services.ticket_reopen(
            actor=actor, ticket_id=pk, reason=d["reason"], expected_version=_version(d)
        ),
    ),
    "close": (
        s.CloseInputSerializer,
        lambda actor, pk, d: services.ticket_close(
            actor=actor, ticket_id=pk, expected_version=_version(d)
        ),
    ),
    "merge_into": (
        s.MergeInputSerializer,
        lambda actor, pk, d: services.ticket_merge(
            actor=actor, ticket_id=pk, into_case_no=d["into"], expected_version=_version(d)
        ),
    ),
    "mark_invalid": (
        s.MarkInvalidInputSerializer,
        lambda actor, pk, d: services.ticket_mark_invalid(
            actor=actor, ticket_id=pk, reason=d["reason"], expected_version=_version(d)
        ),
    ),
    "classify": (
        s.ClassifyInputSerializer,
        lambda actor, pk, d: services.ticket_classify(
            actor=actor,
            ticket_id=pk,
            request_type=d.get("request_type"),
            urgency=d.get("urgency"),
            category_id=d.get("category"),
            expected_version=_version(d),
        ),
    ),
    "note": (
        s.NoteInputSerializer,
        lambda actor, pk, d: services.ticket_add_note(actor=actor, ticket_id=pk, text=d["text"]),
    ),
}


class TicketActionView(APIView):
    """POST one action on one ticket; answers the ticket as it is afterwards."""

    permission_classes = [*STAFF, RoleMayAct]
    action_name: ClassVar[str] = ""
    input_serializer: ClassVar[type[serializers.Serializer]] = serializers.Serializer
    perform: ClassVar[Perform]

    def post(self, request: Request, case_no: str) -> Response:
        # Look the ticket up first: a ticket the user may not see is a 404 whatever the input.
        ticket = ticket_access(user=request.user, case_no=case_no)
        form = self.input_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        updated = type(self).perform(request.user, ticket.pk, dict(form.validated_data))
        return Response(_detail(updated, request))


def _action_view(action: str) -> type[TicketActionView]:
    input_serializer, perform = ACTION_ENDPOINTS[action]
    label = ACTIONS[action]
    view = type(
        f"Ticket{''.join(part.title() for part in action.split('_'))}View",
        (TicketActionView,),
        {
            "action_name": action,
            "input_serializer": input_serializer,
            "perform": staticmethod(perform),
            "__doc__": f"{label}（{action}）",
        },
    )
    schema = extend_schema(
        operation_id=f"tickets_{action}",
        summary=label,
        request=input_serializer,
        responses={200: s.TicketDetailSerializer, **ERRORS, **CONFLICT},
    )
    return extend_schema_view(post=schema)(view)


ACTION_VIEWS: dict[str, type[TicketActionView]] = {
    action: _action_view(action) for action in ACTION_ENDPOINTS
}


class ApiNotFoundView(APIView):
    """Any other address under /api/v1/: a JSON 404 rather than an HTML page."""

    permission_classes = [AllowAny]
    authentication_classes: list[type[BaseAuthentication]] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"code": "not_found", "message": "接口不存在。"}, status=404)

    @extend_schema(exclude=True)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.get(request)


# --- citizens on the website -------------------------------------------------------------


class WebsiteCreateThrottle(AnonRateThrottle):
    """Per client address; the rate comes from settings (default 10 cases per hour). Counted
    per process while Redis is away (fail open: docs/resilience.md)."""

    scope = "website"
    cache = fallback_cache  # type: ignore[assignment]  # the BaseCache calls DRF makes

    def get_rate(self) -> str | None:
        configured = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
        return getattr(settings, "WEBSITE_RATE_LIMIT", None) or configured.get(
            self.scope, "10/hour"
        )


class WebsiteTicketCreateView(APIView):
    """A citizen files a case from the website form. No login; rate-limited per address."""

    permission_classes = [AllowAny]
    authentication_classes: list[type[BaseAuthentication]] = []
    throttle_classes = [WebsiteCreateThrottle]

    @extend_schema(
        operation_id="website_tickets_create",
        summary="市民通过网站提交诉求",
        request=s.WebsiteTicketInputSerializer,
        responses={
            201: s.WebsiteTicketCreatedSerializer,
            400: ERRORS[400],
            429: OpenApiResponse(s.ErrorSerializer, description="提交过于频繁"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        form = s.WebsiteTicketInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        key = data.pop("idempotency_key") or uuid.uuid4().hex
        raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
        # The key alone must never return someone else's case and query code: a repeat counts
        # only when it carries the same submission (hence the body's hash in the key).
        try:
            outcome = inbound_receive(
                channel=Channel.WEBSITE,
                dedupe_key=f"api:{key}:{hashlib.sha256(raw).hexdigest()[:32]}",
                raw_body=raw,
                parse=website_message,
                content_type="application/json",
            )
        except NotProcessed:
            # Kept; the same idempotency key and body, sent again, gets the case number.
            message = "诉求已保存，但系统暂时无法受理，请稍后用同一 idempotency_key 重试。"
            return Response(
                {"code": "unavailable", "message": message},
                status=503,
                headers={"Retry-After": "30"},
            )
        answer = outcome.response
        ticket = outcome.inbound.ticket
        if not answer.get("case_no") or ticket is None:
            if answer.get("action") == "failed":
                message = answer.get("reason") or "处理失败，请稍后再试。"
                return Response({"code": "failed", "message": message}, status=503)
            raise InvalidInput(answer.get("reason") or "诉求未能受理，请检查填写的内容。")
        body = {
            "case_no": ticket.case_no,
            "query_code": ticket.query_code,
            "lookup_url": answer.get("lookup_url", ""),
        }
        headers = {"Idempotent-Replayed": "true"} if outcome.repeated else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)
