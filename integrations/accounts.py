"""Creating and updating channel accounts (admin and the `channel_account` command)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from django.db import InterfaceError, OperationalError, transaction

from integrations.models import ChannelAccount

# Every option the command takes per kind: exactly the keys of the fixtures' `accounts`.
OPTIONS: dict[str, tuple[str, ...]] = {
    "wechat": ("mode", "token", "app_id", "app_secret", "encoding_aes_key", "original_id"),
    "weibo": ("uid", "app_key", "app_secret", "access_token"),
    "hotline": ("secret", "callback_base"),
}
WECHAT_MODES = ("plain", "compatible", "safe")


class AccountError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check(kind: str, key: str, value: str) -> str:
    value = value.strip()
    if kind == "wechat" and key == "mode" and value not in WECHAT_MODES:
        raise AccountError(key, f"消息模式应为 {' / '.join(WECHAT_MODES)}")
    if (
        kind == "wechat"
        and key == "encoding_aes_key"
        and not re.fullmatch(r"[A-Za-z0-9+/]{43}", value)
    ):
        raise AccountError(key, "EncodingAESKey 应为 43 个字母、数字、+ 或 /")
    if kind == "wechat" and key == "original_id" and not value.startswith("gh_"):
        raise AccountError(key, "原始 ID 应以 gh_ 开头")
    if kind == "weibo" and key == "uid" and not value.isdigit():
        raise AccountError(key, "微博 UID 应为数字")
    if key == "callback_base":
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise AccountError(key, "回调地址应为 http(s):// 开头的完整地址")
        value = value.rstrip("/")
    if not value:
        raise AccountError(key, "不能为空")
    return value


def channel_account_save(
    *, kind: str, slug: str, values: dict[str, Any]
) -> tuple[ChannelAccount, bool]:
    """Create the account or update the given options; secrets go to ``secrets`` only."""
    if kind not in OPTIONS:
        raise AccountError("kind", f"类型应为 {' / '.join(OPTIONS)}")
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", slug or ""):
        raise AccountError("slug", "标识只能包含字母、数字、- 和 _")
    unknown = set(values) - set(OPTIONS[kind])
    if unknown:
        raise AccountError(sorted(unknown)[0], f"{kind} 账号没有这个选项")
    cleaned = {
        key: _check(kind, key, str(value)) for key, value in values.items() if value is not None
    }
    with transaction.atomic():
        account, created = ChannelAccount.objects.select_for_update().get_or_create(
            slug=slug, defaults={"kind": kind}
        )
        if account.kind != kind:
            raise AccountError("kind", f"标识 {slug} 已被 {account.kind} 账号使用")
        secret_keys = ChannelAccount.SECRET_KEYS[kind]
        account.config = {
            **account.config,
            **{k: v for k, v in cleaned.items() if k not in secret_keys},
        }
        account.secrets = {
            **account.secrets,
            **{k: v for k, v in cleaned.items() if k in secret_keys},
        }
        if kind == "wechat" and account.config.get("mode", "plain") != "plain":
            if not account.secrets.get("encoding_aes_key"):
                raise AccountError("encoding_aes_key", "兼容模式和安全模式需要 EncodingAESKey")
        account.save()
    return account, created


# Each process's last look-up of each channel account, for when the database is away: a push is
# then still checked against its account's token before it is spooled, so strangers cannot
# fill the spool (integrations/spool.py). Never read while the database answers.
_LAST_SEEN: dict[tuple[str, str], ChannelAccount | None] = {}


def account_active(*, kind: str, slug: str) -> ChannelAccount | None:
    """The active account of ``kind`` named ``slug``, or None. With the database away, the one
    this process last saw (which may be None: unknown); raises the database's error when this
    process never looked it up."""
    try:
        account = ChannelAccount.objects.filter(kind=kind, slug=slug, active=True).first()
    except (OperationalError, InterfaceError):
        if (kind, slug) in _LAST_SEEN:
            return _LAST_SEEN[(kind, slug)]
        raise
    if len(_LAST_SEEN) < 10_000:  # a stranger's made-up slugs cannot grow it without end
        _LAST_SEEN[(kind, slug)] = account
    return account
