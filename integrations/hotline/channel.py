"""The 12345 hotline platform (12345 热线平台): the channel's ``ChannelSpec``.

The platform tells the caller of every step itself, from our callbacks: no citizen notices."""

from __future__ import annotations

from urllib.parse import urlparse

from django.utils.translation import gettext_lazy as _

from integrations.hotline import admin as _admin  # noqa: F401 - the code maps' admin
from integrations.hotline import callbacks, inbound, transport
from integrations.registry import AccountField, ChannelSpec
from tickets.models import Channel


def _callback_base(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("回调地址应为 http(s):// 开头的完整地址")
    return value.rstrip("/")


SPEC = ChannelSpec(
    kind=Channel.HOTLINE,
    badge="热",
    account_label=_("12345 热线平台"),
    account_fields=(
        AccountField("callback_base", _("回调地址"), check=_callback_base),
        AccountField("secret", _("共享密钥"), secret=True),
    ),
    notices=False,
    urls="integrations.hotline.urls",
    spool_view=inbound.orders_receive,
    # The signature headers, checked again when a spooled push is replayed.
    spool_headers=("HTTP_X_HOTLINE_TIMESTAMP", "HTTP_X_HOTLINE_NONCE", "HTTP_X_HOTLINE_SIGNATURE"),
    reprocess=inbound.orders_reprocess,
    media=transport.media_fetch,
    event_hooks=(callbacks.on_ticket_event,),
    # Its own loop keeps each ticket's callbacks in order.
    outbox_loops=((callbacks.KIND, transport.process_hotline_callbacks),),
)
