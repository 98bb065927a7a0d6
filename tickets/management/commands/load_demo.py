"""``manage.py load_demo``: the Qingshan district demo (idempotent), or its logins table."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tickets import demo
from tickets.models import State


class Command(BaseCommand):
    help = "加载演示数据：青山区的部门、分类、各角色账号和约300件工单（已加载时不做任何修改）。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--print-logins",
            action="store_true",
            help="只打印演示账号、密码、角色和部门，不修改任何数据。",
        )

    def handle(self, *args: Any, print_logins: bool = False, **options: Any) -> None:
        if print_logins:
            self.stdout.write(demo.logins_table())
            self.stdout.write("演示渠道消息（管理员）：/admin/demo-traffic/  工作台：/inbox/")
            return
        if not settings.DEMO_MODE:
            raise CommandError(
                "演示数据只能在演示模式下加载（设置环境变量 DEMO=1，make run 会自动设置）："
                "演示渠道账号的密钥是公开的，不能出现在正式系统里。"
            )
        from integrations.demo_traffic import demo_accounts_ensure

        demo_accounts_ensure(site_url=settings.SITE_URL)
        if demo.demo_loaded():
            self.stdout.write("演示数据已存在（青山区），未做修改。")
            return
        started = time.monotonic()
        self.stdout.write("正在加载演示数据（青山区）……")
        result = demo.demo_load(progress=self.stdout.write)
        if not result.created:
            self.stdout.write("演示数据已存在（青山区），未做修改。")
            return
        summary = "，".join(
            f"{State(state).label} {count}" for state, count in result.counts.items()
        )
        total = sum(result.counts.values())
        self.stdout.write(f"按状态：{summary}")
        self.stdout.write(f"其中超期 {result.overdue} 件。")
        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据加载完成：共 {total} 件工单，用时 {time.monotonic() - started:.1f} 秒。"
            )
        )
