"""Text made safe for where it goes: spreadsheets and XML."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

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
