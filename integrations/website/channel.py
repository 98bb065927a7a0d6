"""The government website's form and its JSON API: the channel's ``ChannelSpec``.

Its pages are the site's own addresses (``/``, ``/track/``): mounted at the root. Uploads come
with their files, so there is nothing to download."""

from __future__ import annotations

from integrations.registry import ChannelSpec
from integrations.website import parser
from tickets.models import Channel, CitizenIdentity

SPEC = ChannelSpec(
    kind=Channel.WEBSITE,
    badge="网",
    identity_kind=CitizenIdentity.Kind.PHONE,
    urls="integrations.website.urls",
    url_prefix="",
    reprocess=parser.website_reprocess,
)
