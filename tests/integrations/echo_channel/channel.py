"""The echo channel's ``ChannelSpec``: everything the project needs to know about it."""

from __future__ import annotations

from urllib.parse import urlparse

from config.jobs import Job
from integrations.registry import AccountField, ChannelSpec
from tests.integrations.echo_channel import inbound, transport

KIND = "echo"


def _endpoint(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ValueError("回发地址应为 https:// 开头的完整地址")
    return value


def _key(value: str) -> str:
    if len(value) < 8:
        raise ValueError("签名密钥至少 8 个字符")
    return value


SPEC = ChannelSpec(
    kind=KIND,
    badge="回",
    label="回声",
    account_label="回声账号",
    account_fields=(
        AccountField("endpoint", "回发地址", check=_endpoint),
        AccountField("echo_key", "签名密钥", secret=True, check=_key),
    ),
    identity_kind="echo_user",
    identity_label="回声用户",
    conversational=True,
    senders=(("echo_reply", transport.echo_send),),
    ways=(("echo:reply", "回声回复"),),
    urls="tests.integrations.echo_channel.urls",
    spool_view=inbound.messages_receive,
    spool_headers=("HTTP_X_ECHO_KEY",),
    reprocess=inbound.echo_reprocess,
    jobs=(Job("echo-poll", 30.0, "tests.integrations.echo_channel.transport.echo_poll"),),
)
