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


class SyncBoundaryMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
