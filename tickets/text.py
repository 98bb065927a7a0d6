"""Text made safe for where it goes: spreadsheets and XML; and Chinese text put in order."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

# C0 control characters other than tab, newline and carriage return: invalid in XML 1.0 and
# never meaningful in a citizen's message.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def strip_control(text: str) -> str:
    return CONTROL.sub("", text)


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(value) for value in values]


def csv_datetime(moment: dt.datetime | None) -> str:
    """A time for a CSV cell: Beijing time to the second, as spreadsheets read a date-time."""
    if moment is None:
        return ""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def pinyin_sort_key(text: str) -> str:
    """A key that sorts Chinese text by its reading: pinyin with tones, read word by word (重庆
    is chong2 qing4, 银行 yin2 hang2); other characters stay as they are. Chinese text becomes
    plain ASCII, which every database collation orders alike. Ties: sort by the text next."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text or "", style=Style.TONE3, errors="default")
    return " ".join(syllable.lower() for syllable in syllables)[:255]


ID_MAX = 2**63 - 1  # a PostgreSQL bigint


def id_or_none(value: str) -> int | None:
    """A database id from a string of ASCII digits within a bigint, else None. (``"²"`` is a
    digit to ``str.isdigit`` but ``int`` refuses it; 5,000 digits are past ``int``'s limit and
    a bigint's: both once gave a 500.)"""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if number <= ID_MAX else None
