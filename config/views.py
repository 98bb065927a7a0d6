from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

ICONS = {
    "favicon.ico": "image/x-icon",
    "apple-touch-icon.png": "image/png",
}


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


@cache
def _icon(name: str) -> bytes:
    return (Path(settings.BASE_DIR) / "static" / name).read_bytes()


@require_GET
@cache_control(public=True, max_age=7 * 24 * 3600)
def site_icon(request: HttpRequest, name: str) -> HttpResponse:
    """``/favicon.ico`` (and the touch icon), where browsers look for them on every page."""
    return HttpResponse(_icon(name), content_type=ICONS[name])
