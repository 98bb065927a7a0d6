"""Sentry set-up: on only when SENTRY_DSN is set, and never sends personal data."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

# Mainland mobiles, landlines with area code, 15/18-digit ID numbers.
_PHONE_OR_ID = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{17}[\dXx]|\d{15})(?!\d)")
# Keys whose values are personal data or citizen text wherever they appear in an event.
SENSITIVE_KEYS = frozenset(
    {
        "name",
        "citizen",
        "citizen_name",
        "caller_name",
        "display_name",
        "first_name",
        "last_name",
        "phone",
        "caller_phone",
        "mobile",
        "email",
        "id_number",
        "id_card",
        "content",
        "text",
        "body",
        "raw_body",
        "message_body",
        "title",
        "address",
        "comment",
        "reply",
        "outcome",
        "question",
        "reason",
        "description",
        "cookies",
        "authorization",
        "password",
        "secret",
        "token",
        "app_secret",
        "encoding_aes_key",
        # Free-text search boxes: staff type names and numbers into them.
        "q",
        "query",
        "search",
        "keyword",
    }
)
REDACTED = "[已移除]"


def scrub(value: Any, key: str = "") -> Any:
    """Return a copy of ``value`` with personal data removed (pure, recursive)."""
    if key.lower() in SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _PHONE_OR_ID.sub(REDACTED, value)
    return value


def scrub_query_string(query_string: str) -> str:
    """A query string with the values of sensitive parameters and phone/ID numbers removed."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode(
        [
            (key, REDACTED if key.lower() in SENSITIVE_KEYS else _PHONE_OR_ID.sub(REDACTED, value))
            for key, value in pairs
        ]
    )


# Parts of an event the SDK itself fills in (no personal data, and keys such as "name" that
# must survive for Sentry to read them).
_SDK_PARTS = ("sdk", "modules")
_SDK_CONTEXTS = ("runtime", "os")


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Strip request bodies, local variables' personal values and phone/ID numbers."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for header in list(headers):
                if header.lower() in {"cookie", "authorization", "x-hotline-signature"}:
                    headers[header] = REDACTED
        if isinstance(request.get("query_string"), str):
            request["query_string"] = scrub_query_string(request["query_string"])
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    kept = {part: event.pop(part) for part in _SDK_PARTS if part in event}
    contexts = event.get("contexts")
    kept_contexts = (
        {name: contexts.pop(name) for name in _SDK_CONTEXTS if name in contexts}
        if isinstance(contexts, dict)
        else {}
    )
    scrubbed: dict[str, Any] = scrub(event)
    scrubbed.update(kept)
    if kept_contexts:
        scrubbed.setdefault("contexts", {}).update(kept_contexts)
    return scrubbed


def init_sentry(*, dsn: str, environment: str, release: str, transport: Any = None) -> bool:
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "release": release or None,
        # send_default_pii is deprecated; left unset the SDK sends no personal data by default
        # and keeps its own scrubber in front of ours.
        "max_request_body_size": "never",
        "include_local_variables": False,
        "before_send": before_send,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return True
