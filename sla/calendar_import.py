"""Importing a year's official holiday schedule (国务院放假安排) into the working calendar.

Accepted formats (UTF-8):
- CSV with a header ``date,type,name``: ``2027-01-01,rest,元旦`` / ``2027-02-07,work,春节调休``
  (type: ``work``/``rest``, also ``上班``/``休息``/``放假``);
- JSON: ``[{"date": "2027-01-01", "type": "rest", "name": "元旦"}, ...]``
  (``"workday": true/false`` is accepted instead of ``type``).
Only dates that differ from the plain rule need to be listed; others are ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass

WORK = {"work", "workday", "上班", "工作日", "1", "true"}
REST = {"rest", "holiday", "off", "休息", "放假", "0", "false"}


class CalendarFileError(ValueError):
    pass


@dataclass(frozen=True)
class CalendarEntry:
    date: dt.date
    is_workday: bool
    name: str


def _entry(raw_date: str, raw_type: object, name: str, where: str) -> CalendarEntry:
    try:
        day = dt.date.fromisoformat(str(raw_date).strip())
    except ValueError:
        raise CalendarFileError(f"{where}：日期「{raw_date}」不是 YYYY-MM-DD 格式")
    kind = str(raw_type).strip().lower()
    if kind not in WORK | REST:
        raise CalendarFileError(f"{where}：类型「{raw_type}」应为 work（上班）或 rest（放假）")
    return CalendarEntry(day, kind in WORK, name.strip()[:64])


def parse_calendar_file(data: bytes, *, filename: str = "") -> list[CalendarEntry]:
    """Parse a CSV or JSON schedule; raises CalendarFileError naming the bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CalendarFileError("文件不是 UTF-8 编码")
    entries: list[CalendarEntry] = []
    if filename.lower().endswith(".json") or text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CalendarFileError(f"JSON 格式错误：第 {exc.lineno} 行 {exc.msg}")
        if not isinstance(rows, list):
            raise CalendarFileError("JSON 应为一个列表")
        for index, row in enumerate(rows, 1):
            if not isinstance(row, dict) or "date" not in row:
                raise CalendarFileError(f"第 {index} 项：缺少 date")
            kind = row.get("type", row.get("workday"))
            if isinstance(kind, bool):
                kind = "work" if kind else "rest"
            entries.append(_entry(row["date"], kind, str(row.get("name", "")), f"第 {index} 项"))
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"date", "type"} <= {f.strip() for f in reader.fieldnames}:
            raise CalendarFileError("CSV 第一行应为表头：date,type,name")
        for line, row in enumerate(reader, 2):
            row = {k.strip(): (v or "") for k, v in row.items() if k}
            entries.append(_entry(row["date"], row["type"], row.get("name", ""), f"第 {line} 行"))
    if not entries:
        raise CalendarFileError("文件中没有任何日期")
    dates = [entry.date for entry in entries]
    if len(set(dates)) != len(dates):
        raise CalendarFileError("同一日期出现了多次")
    return entries
