"""Open311 GeoReport v2 (``/open311/v2/``): the channel's ``ChannelSpec``.

Its citizens are told by SMS (there is no way back through a GeoReport client); its
``media_url`` attachments are fetched by the guarded URL download."""

from __future__ import annotations

from integrations.media.download import url_fetch
from integrations.open311 import parser
from integrations.registry import ChannelSpec
from tickets.models import Channel, CitizenIdentity

SPEC = ChannelSpec(
    kind=Channel.OPEN311,
    badge="O",
    identity_kind=CitizenIdentity.Kind.PHONE,
    urls="integrations.open311.urls",
    url_prefix="open311/v2/",
    reprocess=parser.open311_reprocess,
    media=url_fetch,
)
