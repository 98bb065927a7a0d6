"""Keyset pagination on ``id`` (newest first): stable while new tickets keep arriving."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

MAX_LIMIT = 100
Row = TypeVar("Row")


def keyset_page(
    *, request: Request, rows: Sequence[Row], limit: int, key: str = "pk"
) -> tuple[list[Row], str | None]:
    """Cut ``rows`` (fetched with ``limit + 1``) to one page and build the next page's URL."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    url = request.build_absolute_uri()
    url = replace_query_param(url, "after", getattr(page[-1], key))
    url = replace_query_param(url, "limit", limit)
    return page, url
