"""``python manage.py channel_account KIND --slug S [options]``: create or update an account.

The kinds and their options are the channels' (``ChannelSpec.account_fields``). Secrets are
accepted but never printed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.accounts import AccountError, account_options, channel_account_save
from integrations.models import ChannelAccount
from integrations.registry import account_kinds


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        kinds = " / ".join(sorted(account_kinds()))
        return f"创建或更新渠道账号（{kinds}）；密钥不会被打印。"

    def add_arguments(self, parser: Any) -> None:
        options = account_options()
        parser.add_argument("kind", choices=sorted(options))
        parser.add_argument("--slug", required=True)
        for key in sorted({key for keys in options.values() for key in keys}):
            spec_fields = [
                field
                for spec in account_kinds().values()
                if (field := spec.account_field(key)) is not None
            ]
            kinds = [kind for kind, keys in options.items() if key in keys]
            parser.add_argument(
                "--" + key.replace("_", "-"),
                dest=key,
                default=None,
                help=f"{spec_fields[0].label}（{' / '.join(sorted(kinds))}）",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        accepted = account_options()
        given = {key: options[key] for key in accepted[kind] if options.get(key) is not None}
        others = [
            "--" + key.replace("_", "-")
            for keys in accepted.values()
            for key in keys
            if key not in accepted[kind] and options.get(key) is not None
        ]
        if others:
            raise CommandError(f"{kind} 账号不接受选项：{', '.join(sorted(set(others)))}")
        try:
            account, created = channel_account_save(kind=kind, slug=options["slug"], values=given)
        except AccountError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}：{exc.message}")
        shown = ", ".join(f"{k}={v}" for k, v in sorted(account.config.items()))
        hidden = ", ".join(f"{k}=已设置" for k in sorted(account.secrets))
        verb = "已创建" if created else "已更新"
        self.stdout.write(f"{verb}渠道账号 {kind}:{account.slug}（{shown}; {hidden}）")


__all__ = ["ChannelAccount", "Command"]
