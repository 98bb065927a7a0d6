"""``python manage.py sla_sweep [--once]``: run the SLA sweep once, or in a loop."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from sla.sweep import sweep_once


class Command(BaseCommand):
    help = "查找到期的受理/办结预警、超时和催办，并写入工单时间线（--once 只运行一次）。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="只运行一次并打印结果")
        parser.add_argument("--interval", type=float, default=30.0, help="循环间隔（秒）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.stdout.write(sweep_once().summary())
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            self.stdout.write("收到停止信号，本轮结束后退出。")
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(
            f"时限监控已启动，每 {options['interval']:g} 秒检查一次（SIGTERM 停止）。"
        )
        self.stdout.flush()
        while not stop.is_set():
            report = sweep_once()
            if report.handled or report.failed:
                self.stdout.write(report.summary())
            stop.wait(options["interval"])
        self.stdout.write("已停止。")
