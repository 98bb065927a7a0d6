"""``manage.py routing_train``: train the routing-suggestion model now (the nightly job does it
by itself; this is for a new installation or after importing history)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from tickets.suggest.services import routing_train


class Command(BaseCommand):
    help = "立即训练派单建议模型（夜间任务会自动训练；导入历史工单后可手动运行）。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--force", action="store_true", help="今晚的模型已存在时也重新训练")

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        result = routing_train(force=force)
        messages = {
            "ready": f"已训练：{result.samples} 件历史工单，用时 {result.took_ms / 1000:.1f} 秒。",
            "too_little": f"历史工单不足（{result.samples} 件），暂不提供派单建议。",
            "skipped": "今晚的模型已存在或正在训练（加 --force 重新训练）。",
            "failed": "训练失败，原因见日志和管理后台的模型记录。",
        }
        self.stdout.write(messages.get(result.status, result.summary()))
