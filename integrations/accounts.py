"""Creating and updating channel accounts (admin and the `channel_account` command).

Which options an account of each kind takes, which of them are secrets and how each is
checked is the channel's ``ChannelSpec`` (``integrations.registry``)."""

from __future__ import annotations

import re
from typing import Any

from django.db import InterfaceError, OperationalError, transaction

from integrations.models import ChannelAccount
from integrations.registry import AccountError, ChannelSpec, account_kinds

__all__ = ["AccountError", "account_options", "channel_account_save"]


def account_options() -> dict[str, tuple[str, ...]]:
    """Every option each kind takes (the command's options, the admin form's fields)."""
    return {
        kind: tuple(f.name for f in spec.account_fields) for kind, spec in account_kinds().items()
    }


def _check(spec: ChannelSpec, key: str, value: str) -> str:
    field = spec.account_field(key)
    value = value.strip()
    if field is not None and field.check is not None:
        try:
            value = field.check(value)
        except AccountError:
            raise
        except ValueError as exc:
            raise AccountError(key, str(exc))
    if not value:
        raise AccountError(key, "不能为空")
    return value


def channel_account_save(
    *, kind: str, slug: str, values: dict[str, Any]
) -> tuple[ChannelAccount, bool]:
    """Create the account or update the given options; secrets go to ``secrets`` only."""
    kinds = account_kinds()
    spec = kinds.get(kind)
    if spec is None:
        raise AccountError("kind", f"类型应为 {' / '.join(kinds)}")
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", slug or ""):
        raise AccountError("slug", "标识只能包含字母、数字、- 和 _")
    unknown = set(values) - {f.name for f in spec.account_fields}
    if unknown:
        raise AccountError(sorted(unknown)[0], f"{kind} 账号没有这个选项")
    cleaned = {
        key: _check(spec, key, str(value)) for key, value in values.items() if value is not None
    }
    with transaction.atomic():
        account, created = ChannelAccount.objects.select_for_update().get_or_create(
            slug=slug, defaults={"kind": kind}
        )
        if account.kind != kind:
            raise AccountError("kind", f"标识 {slug} 已被 {account.kind} 账号使用")
        secret_keys = spec.secret_keys
        account.config = {
            **account.config,
            **{k: v for k, v in cleaned.items() if k not in secret_keys},
        }
        account.secrets = {
            **account.secrets,
            **{k: v for k, v in cleaned.items() if k in secret_keys},
        }
        if spec.account_check is not None:
            spec.account_check(account.config, account.secrets)
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
