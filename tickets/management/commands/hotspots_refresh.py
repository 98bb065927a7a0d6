"""``manage.py hotspots_refresh``: recompute the hot issues now (the periodic job does it every
five minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tickets.hotspots.services import hotspots_refresh


class Command(BaseCommand):
    help = "立即重新计算近7天的热点问题（后台任务每5分钟自动计算）。"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"已计算：{hotspots_refresh().summary()}。")
