"""``GET /api/v1/``: what the API offers, so its root answers instead of a 404 (README)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.views import ACTION_VIEWS
from tickets.permissions import ACTIONS


def endpoints(action_names: list[str]) -> list[dict[str, str]]:
    items = [
        {"method": "GET", "path": "/api/v1/tickets/", "description": "工单列表（按角色和部门）"},
        {"method": "GET", "path": "/api/v1/tickets/{case_no}/", "description": "工单详情"},
    ]
    items += [
        {
            "method": "POST",
            "path": f"/api/v1/tickets/{{case_no}}/{action}/",
            "description": f"工单操作：{ACTIONS.get(action, action)}",
        }
        for action in action_names
    ]
    items.append(
        {
            "method": "POST",
            "path": "/api/v1/website/tickets/",
            "description": "市民通过网站提交诉求（无需登录，有频率限制）",
        }
    )
    return items


class ApiIndexView(APIView):
    """The API's table of contents: its endpoints, where the docs and schema are, how to sign
    in. Open to all; it says nothing about any ticket."""

    permission_classes = [AllowAny]
    authentication_classes: list[type[BaseAuthentication]] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(
            {
                "name": "民声 REST API v1",
                "description": "工单的列表、详情和办理操作，以及市民网上提交诉求。",
                "authentication": (
                    "工作人员使用令牌（请求头 Authorization: Token <令牌>，由管理员在后台签发）"
                    "或已登录的会话；网上提交诉求无需登录。"
                ),
                "docs": request.build_absolute_uri("/api/docs/"),
                "schema": request.build_absolute_uri("/api/schema/"),
                "endpoints": endpoints(list(ACTION_VIEWS)),
                "open311": request.build_absolute_uri("/open311/v2/"),
            }
        )
