"""python manage.py import_history FILE.jsonl — cases from a previous system (历史导入)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboards.importer import history_import

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "导入原系统的历史工单（JSON Lines 格式，见 docs/import-history.md）。重复运行不会重复导入。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSON Lines 文件，每行一件工单")
        parser.add_argument("--quiet-progress", action="store_true", help="不显示进度条")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        try:
            with path.open(encoding="utf-8-sig") as handle:
                total = sum(1 for _ in handle)
        except UnicodeDecodeError:
            raise CommandError("文件不是 UTF-8 编码。")
        show = not options["quiet_progress"]
        step = max(1, total // 200)

        def progress(done: int, of: int) -> None:
            if show and (done % step == 0 or done == of):
                filled = BAR_WIDTH * done // max(of, 1)
                bar = "#" * filled + "-" * (BAR_WIDTH - filled)
                sys.stderr.write(f"\r导入中 [{bar}] {done}/{of} 行")
                sys.stderr.flush()

        with path.open(encoding="utf-8-sig") as handle:
            report = history_import(handle, total=total, progress=progress)
        if show:
            sys.stderr.write("\n")
        for number, reason in report.errors:
            self.stderr.write(f"第 {number} 行：{reason}")
        self.stdout.write(report.summary())
        if report.errors:
            self.stdout.write(
                "错误行已记入收件日志（渠道 import，状态「已拒绝」），修正后可重新运行。"
            )
