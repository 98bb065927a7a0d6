"""System checks: every channel has its ``ChannelSpec``; (deploy) without an SMS provider,
notices that fall back to SMS are only logged."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register("integrations", deploy=True)
def sms_backend_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.DEBUG or settings.DEMO_MODE:
        return []
    if os.environ.get("SMS_BACKEND", "log").strip().lower() in ("", "log"):
        return [
            Warning(
                "未配置短信服务（SMS_BACKEND），无法通过微信、微博送达的通知只会写入日志，市民收不到。",
                hint="设置 SMS_BACKEND=aliyun 及 SMS_ALIYUN_* 变量，见 integrations/outbound/sms.py。",
                id="integrations.W001",
            )
        ]
    return []


@register("integrations")
def channel_specs_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every channel value has its ``ChannelSpec``: without one its notices would have no
    sender and no address, its accounts no options, its inbox row no badge."""
    from integrations.registry import channel_specs
    from tickets.models.choices import INTERNAL_CHANNELS, Channel

    specs = {spec.kind: spec for spec in channel_specs()}
    problems: list[CheckMessage] = []
    for value, label in Channel.choices:
        if value not in specs and value not in INTERNAL_CHANNELS:
            problems.append(
                Error(
                    f"渠道 {value}（{label}）没有注册 ChannelSpec：它的通知无处可发，"
                    "账号没有选项，收件箱里没有标记。",
                    hint=f"在 integrations/{value}/channel.py 中声明 SPEC = ChannelSpec(...)"
                    "（见 docs/architecture.md「新增渠道」）。",
                    id="integrations.E001",
                )
            )
    for spec in specs.values():
        if spec.kind not in Channel.values and not spec.label:
            problems.append(
                Error(
                    f"渠道 {spec.kind} 不在 tickets.models.Channel 中，ChannelSpec 也没有名称。",
                    hint="把它加入 Channel，或在 ChannelSpec 中写明 label。",
                    id="integrations.E002",
                )
            )
        if spec.notices and spec.conversational and not spec.senders:
            problems.append(
                Error(
                    f"渠道 {spec.kind} 是对话式渠道，却没有发送通知的方式（senders）。",
                    hint="在 ChannelSpec.senders 中列出回复市民的方式，或设 conversational=False。",
                    id="integrations.E003",
                )
            )
    return problems
