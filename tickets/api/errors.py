"""API errors are JSON with the field and the reason, in Chinese."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tickets.errors import TicketError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, TicketError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["errors"] = [{"field": exc.field, "reason": exc.message}]
        return Response(body, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        code = getattr(data["detail"], "code", "error")
        response.data = {"code": code, "message": str(data["detail"])}
    elif isinstance(data, dict):
        errors = [
            {
                "field": field,
                "reason": " ".join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs])),
            }
            for field, msgs in data.items()
        ]
        response.data = {"code": "invalid", "message": "提交的内容有误。", "errors": errors}
    elif isinstance(data, list):
        response.data = {"code": "invalid", "message": " ".join(str(m) for m in data)}
    if response.status_code == status.HTTP_400_BAD_REQUEST and "code" not in response.data:
        response.data["code"] = "invalid"
    return response
