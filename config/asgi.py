"""ASGI entry point: HTTP through Django, websockets through channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.bodylimit import BodyLimit  # noqa: E402
from config.jobs import start_in_process  # noqa: E402
from dashboards.routing import websocket_urlpatterns as dashboard_websockets  # noqa: E402
from integrations.spool import drainer_start, spool_waiting  # noqa: E402
from tickets.routing import websocket_urlpatterns  # noqa: E402

# Embedded default: the SLA sweep and other jobs run inside this process (no-op with Redis).
start_in_process()
# Pushes spooled on this machine while the database was away (by a process that has gone).
if spool_waiting():
    drainer_start()

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(django_asgi_app, settings.MAX_REQUEST_BYTES),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns + dashboard_websockets))
        ),
    }
)
