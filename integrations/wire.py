"""Reading what arrives on the wire, before any of it may reach the database (pure functions).

Two things break a Python service that reads JSON or XML from strangers, whatever the schema:

- **Depth.** ``[[[[…]]]]`` nested a few thousand deep makes ``json.loads`` (and every function
  that later walks the value) raise ``RecursionError``: a 500 before the message is even kept.
  ``json_load`` refuses a document nested deeper than ``MAX_DEPTH`` before parsing it.
- **Text PostgreSQL cannot store.** A ``\\u0000`` (NUL) is valid JSON and valid in a URL
  (``%00``), but a PostgreSQL ``text`` or ``jsonb`` value cannot hold it; a lone surrogate
  (``\\ud800``) cannot even be encoded as UTF-8. ``text_problem`` finds the first such string
  in a value and names where it is, so the boundary can refuse the message with a 400 that
  names the field, instead of the database answering with a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than any message of any channel we take (WeChat's deepest is 4, 12345 and Weibo 3).
MAX_DEPTH = 32

_STRUCTURE = re.compile(rb'["\\\[\]{}]')
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class WireError(ValueError):
    """The body cannot be read: ``field`` says where (``body`` for the whole), ``message`` why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}：{message}")
        self.field = field
        self.message = message


def json_depth_exceeds(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when arrays/objects in ``raw`` nest deeper than ``limit`` (strings are skipped,
    escapes included). Linear in the body's size; stops at the first level too deep."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth, in_string, skip = 0, False, -1
    for match in _STRUCTURE.finditer(raw):
        at = match.start()
        if at == skip:  # the character after a backslash inside a string
            continue
        char = raw[at]
        if in_string:
            if char == 0x5C:  # backslash
                skip = at + 1
            elif char == 0x22:  # quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif char in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def json_load(raw: bytes, *, limit: int = MAX_DEPTH) -> Any:
    """The JSON value in ``raw``; ``WireError`` for non-UTF-8, too deep or not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError("body", f"不是 UTF-8 编码（第 {exc.start} 字节）") from exc
    if json_depth_exceeds(raw, limit):
        raise WireError("body", f"JSON 嵌套超过 {limit} 层")
    try:
        return json.loads(text)
    except RecursionError as exc:  # belt and braces: the scan above should have caught it
        raise WireError("body", f"JSON 嵌套超过 {limit} 层") from exc
    except ValueError as exc:
        raise WireError("body", f"不是有效的 JSON（{exc}）") from exc


def text_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """``(where, why)`` for the first string in ``value`` (keys included, nested dicts, lists
    and tuples walked) that PostgreSQL cannot store, else None. ``where`` is a dotted path
    (``attachments[0].name``), or ``path`` itself for a plain string."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            found = _UNSTORABLE.search(item)
            if found:
                return storable(where) or "body", _why(found.group())
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = str(key)
                child_path = f"{where}.{name}" if where else name
                found = _UNSTORABLE.search(name)
                if found:
                    return storable(child_path), f"字段名{_why(found.group())}"
                stack.append((child_path, child))
        elif isinstance(item, (list, tuple)):
            for index in range(len(item) - 1, -1, -1):
                stack.append((f"{where}[{index}]", item[index]))
    return None


def _why(char: str) -> str:
    if char == "\x00":
        return "含有不允许的空字符（\\u0000）"
    return "含有无效的 Unicode 字符（单独的代理项）"


def storable(text: str) -> str:
    """``text`` with what PostgreSQL cannot store made visible (for reasons and log lines that
    quote a stranger's input: they must never be the thing that fails)."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def storable_value(value: Any) -> Any:
    """``storable`` applied to every string (and key) of a JSON-like value."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(key)): storable_value(child) for key, child in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable_value(child) for child in value]
    return value
