"""WeChat official accounts (微信公众号): the channel's ``ChannelSpec``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from integrations.registry import AccountError, AccountField, ChannelSpec
from integrations.wechat import inbound, transport
from tickets.models import Channel, CitizenIdentity

MODES = ("plain", "compatible", "safe")


def _mode(value: str) -> str:
    if value not in MODES:
        raise ValueError(f"消息模式应为 {' / '.join(MODES)}")
    return value


def _aes_key(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9+/]{43}", value):
        raise ValueError("EncodingAESKey 应为 43 个字母、数字、+ 或 /")
    return value


def _original_id(value: str) -> str:
    if not value.startswith("gh_"):
        raise ValueError("原始 ID 应以 gh_ 开头")
    return value


def _account_check(config: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    if config.get("mode", "plain") != "plain" and not secrets.get("encoding_aes_key"):
        raise AccountError("encoding_aes_key", "兼容模式和安全模式需要 EncodingAESKey")


SPEC = ChannelSpec(
    kind=Channel.WECHAT,
    badge="微",
    account_label=_("微信公众号"),
    account_fields=(
        AccountField(
            "mode",
            _("消息模式"),
            check=_mode,
            choices=(("plain", "明文"), ("compatible", "兼容"), ("safe", "安全")),
        ),
        AccountField("app_id", "AppID"),
        AccountField("original_id", _("原始ID gh_…"), check=_original_id),
        AccountField("template_id", _("模板消息 ID")),
        AccountField("token", "Token", secret=True),
        AccountField("app_secret", "AppSecret", secret=True),
        AccountField("encoding_aes_key", "EncodingAESKey", secret=True, check=_aes_key),
    ),
    account_check=_account_check,
    identity_kind=CitizenIdentity.Kind.WECHAT_OPENID,
    conversational=True,
    senders=(
        ("wechat_custom", transport.send_custom),
        ("wechat_template", transport.send_template),
    ),
    ways=(("wechat:custom", _("微信客服消息")), ("wechat:template", _("微信模板消息"))),
    urls="integrations.wechat.urls",
    spool_view=inbound.wechat_endpoint,
    reprocess=inbound.wechat_reprocess,
    media=transport.media_fetch,
)
