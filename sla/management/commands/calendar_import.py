"""``python manage.py calendar_import FILE``: load a year's official holiday schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sla.calendar_import import CalendarFileError, parse_calendar_file
from sla.services import calendar_replace_years
from tickets.services.clocks import deadlines_recompute_unconfirmed


class Command(BaseCommand):
    help = "导入某年的放假安排（CSV: date,type,name 或 JSON），并重算未确认的时限。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="CSV 或 JSON 文件")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        try:
            entries = parse_calendar_file(path.read_bytes(), filename=path.name)
        except CalendarFileError as exc:
            raise CommandError(f"{path.name}：{exc}")
        years = calendar_replace_years(entries=entries, source=f"import:{path.name}")
        self.stdout.write(
            f"已导入 {', '.join(map(str, years))} 年的放假安排（{len(entries)} 个日期）。"
        )
        changed = deadlines_recompute_unconfirmed()
        for case_no, before, after in changed:
            self.stdout.write(f"  {case_no}: {before} → {after}")
        self.stdout.write(f"重算了 {len(changed)} 件工单的办结时限。")
