"""``python manage.py channel_account KIND --slug S [options]``: create or update an account.

Secrets are accepted but never printed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.accounts import OPTIONS, AccountError, channel_account_save
from integrations.models import ChannelAccount


class Command(BaseCommand):
    help = "创建或更新渠道账号（wechat / weibo / hotline）；密钥不会被打印。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=sorted(OPTIONS))
        parser.add_argument("--slug", required=True)
        for key in sorted({key for keys in OPTIONS.values() for key in keys}):
            parser.add_argument("--" + key.replace("_", "-"), dest=key, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        given = {key: options[key] for key in OPTIONS[kind] if options.get(key) is not None}
        others = [
            "--" + key.replace("_", "-")
            for keys in OPTIONS.values()
            for key in keys
            if key not in OPTIONS[kind] and options.get(key) is not None
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
