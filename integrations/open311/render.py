"""GeoReport v2 documents as JSON or XML (the standard requires XML; JSON is optional)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone

# Which element each list holds in XML.
LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the time zone, in local time (e.g. 2024-06-01T09:30:00+08:00)."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, child in value.items():
            _element(node, key, child)
    elif isinstance(value, list):
        item_tag = LIST_ITEMS.get(tag, "item")
        for child in value:
            _element(node, item_tag, child)
    else:
        node.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    """``value`` is a list (its items become ``LIST_ITEMS[root]``) or a dict of children."""
    element = ET.Element(root)
    if isinstance(value, list):
        for item in value:
            _element(element, LIST_ITEMS.get(root, "item"), item)
    else:
        for key, child in value.items():
            _element(element, key, child)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def respond(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False, default=_json_default)
        return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    return HttpResponse(to_xml(root, value), status=status, content_type="text/xml; charset=utf-8")


def error(fmt: str, status: int, description: str) -> HttpResponse:
    """Errors are a list of {code, description}, with the HTTP status as the code."""
    return respond(fmt, "errors", [{"code": status, "description": description}], status=status)
