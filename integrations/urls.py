"""``/integrations/``: the demo sink, and every channel's URLconf where its spec mounts it
(``channel_urlpatterns``, included by the site's URLconf)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from integrations import demo_traffic
from integrations.registry import channel_specs

urlpatterns = [
    path("demo-sink/<slug:slug>/callbacks", demo_traffic.demo_sink, name="demo-sink"),
]


def channel_urlpatterns() -> list[URLPattern | URLResolver]:
    """Each channel's ``ChannelSpec.urls`` under its ``prefix`` (``integrations/<kind>/``
    unless the spec says otherwise: the website at the root, Open311 at ``open311/v2/``)."""
    return [path(spec.prefix, include(spec.urls)) for spec in channel_specs() if spec.urls]
