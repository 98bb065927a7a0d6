"""API errors are JSON with the field and the reason, in Chinese.

Every error body has the same shape: ``{"code", "message", "errors": [{"field", "reason"}]}``
(``errors`` only when a field is to blame). Conflicts also say the ticket's current state.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tickets.errors import TicketError, TransitionNotAllowed

INVALID_MESSAGE = "提交的内容有误。"


def _flatten(data: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error structure as a flat list of ``{field, reason}``."""
    if isinstance(data, dict):
        items: list[dict[str, str]] = []
        for key, value in data.items():
            items.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(data, list):
        if all(not isinstance(item, (dict, list)) for item in data):
            return [{"field": prefix, "reason": " ".join(str(item) for item in data)}]
        items = []
        for index, item in enumerate(data):
            items.extend(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return items
    return [{"field": prefix, "reason": str(data)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, TicketError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["errors"] = [{"field": exc.field, "reason": exc.message}]
        if isinstance(exc, TransitionNotAllowed):
            body["state"] = exc.state
            body["action"] = exc.action
        return Response(body, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        code = getattr(data["detail"], "code", "error")
        response.data = {"code": code, "message": str(data["detail"])}
    elif isinstance(data, dict):
        errors = [item for item in _flatten(data) if item["reason"]]
        message = errors[0]["reason"] if len(errors) == 1 else INVALID_MESSAGE
        response.data = {"code": "invalid", "message": message, "errors": errors}
    elif isinstance(data, list):
        response.data = {"code": "invalid", "message": " ".join(str(m) for m in data)}
    if response.status_code == status.HTTP_400_BAD_REQUEST and "code" not in response.data:
        response.data["code"] = "invalid"
    return response
