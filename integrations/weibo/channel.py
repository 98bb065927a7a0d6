"""Weibo (微博): the channel's ``ChannelSpec``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.jobs import Job
from integrations.registry import AccountField, ChannelSpec
from integrations.weibo import inbound, transport
from tickets.models import Channel, CitizenIdentity


def _uid(value: str) -> str:
    if not value.isdigit():
        raise ValueError("微博 UID 应为数字")
    return value


def _seconds(value: str) -> str:
    if not value.isdigit() or int(value) < 1:
        raise ValueError("轮询间隔应为正整数（秒）")
    return value


SPEC = ChannelSpec(
    kind=Channel.WEIBO,
    badge="博",
    account_label=_("微博"),
    account_fields=(
        AccountField("uid", "UID", check=_uid),
        AccountField("app_key", "App Key"),
        AccountField("poll_interval", _("轮询间隔（秒）"), check=_seconds),
        AccountField("app_secret", "AppSecret", secret=True),
        AccountField("access_token", "Access token", secret=True),
    ),
    identity_kind=CitizenIdentity.Kind.WEIBO_UID,
    conversational=True,
    senders=(("weibo_message", transport.weibo_message_send),),
    ways=(
        ("weibo:message", _("微博私信")),
        ("weibo:comment_reply", _("微博评论回复")),
        ("weibo:comment_create", _("微博评论")),
    ),
    urls="integrations.weibo.urls",
    spool_view=inbound.weibo_endpoint,
    reprocess=inbound.weibo_reprocess,
    media=transport.media_fetch,
    outbox_handlers=((transport.COMMENT_REPLY_KIND, transport.comment_reply_handle),),
    # Mentions and comments are read by polling (private messages are pushed).
    jobs=(Job("weibo-poll", 60.0, "integrations.weibo.poller.poll_all"),),
)
