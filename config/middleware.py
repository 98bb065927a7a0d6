"""One sync boundary for the whole middleware chain under ASGI.

Django adapts each middleware to the mode of the handler below it. Under ASGI the handler at
the bottom is async, so every ``MiddlewareMixin`` above it runs in async mode and calls its
``process_request``/``process_response`` through ``sync_to_async``: a thread hop each, about a
dozen per request, and one more pair at WhiteNoise (sync only). This middleware, last in the
list, is sync only: Django adapts the async bottom to it once, every middleware above it then
runs in sync mode in one thread, and a request costs two hops instead of a dozen
(docs/benchmarks.md has the before/after).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin


class SyncBoundaryMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


# --- the boundary: what no view should ever have to handle -----------------------------------

_JSON_PREFIXES = ("/api/", "/integrations/")


def _refusal(request: HttpRequest, status: int, message: str, code: str) -> HttpResponse:
    """A short answer in the form the caller reads: JSON for the API and the channels, XML
    for Open311's .xml, plain Chinese text otherwise (no template: nothing that can fail)."""
    import json

    path = request.path_info
    if path.startswith("/open311/"):
        if path.endswith(".json"):
            body = json.dumps([{"code": status, "description": message}], ensure_ascii=False)
            return HttpResponse(body, status=status, content_type="application/json")
        from xml.sax.saxutils import escape

        body = (
            '<?xml version="1.0" encoding="utf-8"?><errors><error>'
            f"<code>{status}</code><description>{escape(message)}</description>"
            "</error></errors>"
        )
        return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    if path.startswith(_JSON_PREFIXES):
        body = json.dumps({"code": code, "message": message}, ensure_ascii=False)
        return HttpResponse(body, status=status, content_type="application/json")
    if status == 503:
        from django.template.loader import render_to_string

        page: str
        try:  # a template needs no database; if even that fails, plain text
            page = render_to_string("503.html", {"message": message})
        except Exception:
            page = message
        return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class UnstorableInputMiddleware(MiddlewareMixin):
    """Refuses, first of all, a request whose address carries what the database cannot store:
    a NUL (``%00``) or an invalid character in the path or in a query parameter. Checked once
    here, so no view, form or filter ever passes it to PostgreSQL (which answers with an
    error, hence a 500). Bodies are checked where they are read (the channel parsers, Django
    forms and DRF fields refuse NUL). (A ``MiddlewareMixin``: sync and async alike, so it adds
    no thread hop of its own; see SyncBoundaryMiddleware.)"""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        problem = self._problem(request)
        if problem is not None:
            return _refusal(request, 400, problem, "invalid")
        return None

    # Bodies these read and check themselves (journaled first, then refused naming the field).
    OWN_BODIES = ("/integrations/", "/open311/", "/api/")
    CHANNELS = "/integrations/"
    FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

    @classmethod
    def _problem(cls, request: HttpRequest) -> str | None:
        from integrations.wire import text_problem

        found = text_problem(request.path)
        if found is not None:
            return f"请求地址{found[1]}。"
        # The channel endpoints read only their signed parameters from the query (and never
        # store them but as the raw, percent-encoded string): their pushes are journaled.
        if request.META.get("QUERY_STRING") and not request.path_info.startswith(cls.CHANNELS):
            found = text_problem({key: request.GET.getlist(key) for key in request.GET})
            if found is not None:
                return f"查询参数 {found[0].split('[', 1)[0]} {found[1]}。"
        if (
            request.method == "POST"
            and request.content_type in cls.FORMS
            and not request.path_info.startswith(cls.OWN_BODIES)
        ):
            # Staff and citizen forms: a view that reads request.POST without a Django form
            # must not be the one that hands a NUL to PostgreSQL either.
            fields = {key: request.POST.getlist(key) for key in request.POST}
            fields |= {
                f"{key}.name": [f.name or "" for f in request.FILES.getlist(key)]
                for key in request.FILES
            }
            found = text_problem(fields)
            if found is not None:
                return f"表单字段 {found[0].split('[', 1)[0]} {found[1]}。"
        return None


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A view that meets a database outage answers 503 with ``Retry-After``, in Chinese, never
    a 500 (the channel endpoints keep their pushes first: ``integrations.spool``)."""

    RETRY_AFTER = "30"
    MESSAGE = "系统暂时无法访问数据库，请稍后再试。"

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import InterfaceError, OperationalError

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        import logging

        logging.getLogger(__name__).warning(
            "%s %s: database unavailable (%s)", request.method, request.path, exception
        )
        response = _refusal(request, 503, self.MESSAGE, "unavailable")
        response["Retry-After"] = self.RETRY_AFTER
        return response
