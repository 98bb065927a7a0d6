"""Deploy check: without an SMS provider, notices that fall back to SMS are only logged."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


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
