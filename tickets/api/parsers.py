"""The API's JSON parser: DRF's, with a depth limit and no text the database cannot store.

DRF parses with ``json.load``: a body nested a few thousand deep raises ``RecursionError`` (a
500), and ``"\\u0000"`` or a lone surrogate in any value reaches PostgreSQL as it is (another
500). Both are a 400 here, naming where in the body the problem is."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from integrations.wire import WireError, json_load, text_problem

MAX_BODY_BYTES = 1024 * 1024


class LimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise ParseError("请求体过大（最多 1 MB）。")
        if not raw.strip():
            raise ParseError("请求体为空，应为 JSON。")
        try:
            data = json_load(raw)
        except WireError as exc:
            raise ParseError(f"JSON 无法解析：{exc.message}") from exc
        problem = text_problem(data)
        if problem is not None:
            raise ParseError(f"{problem[0]}：{problem[1]}")
        return data
