"""``python manage.py inbound_recover``: one recovery pass now (what the ``inbound-recover`` job
does every 30 s): replay the local spool, take in journal rows an outage left unanswered, make
postponed replay checks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from integrations.recovery import journal_recover
from integrations.spool import spool_dir, spool_waiting


class Command(BaseCommand):
    help = "补处理故障期间留下的渠道消息（本机暂存、未处理的收件日志、待补做的重放校验）。"

    def handle(self, *args: Any, **options: Any) -> None:
        result = journal_recover()
        self.stdout.write(result.summary())
        waiting = spool_waiting()
        if waiting:
            self.stdout.write(f"{spool_dir()} 中仍有 {waiting} 条等待数据库恢复。")
