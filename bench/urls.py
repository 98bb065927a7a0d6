"""W0, the yardstick: a bare view that inserts one row per request, served by the same ASGI
workers, middleware and database as the real endpoints. Mounted only when MINSHENG_BENCH=1."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_ping "
    "(id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), body text NOT NULL)"
)


@csrf_exempt
@require_POST
def ping(request: HttpRequest) -> HttpResponse:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_ping (body) VALUES (%s)", [request.body[:200].decode()])
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("ping/", ping)]
