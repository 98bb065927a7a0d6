"""The citizen's page addresses and the look-up throttle (issue 13, item 8): the /filed/ and
/track/ tokens reveal nothing (not even the ticket's id), expire, and cannot be moved from one
purpose to the other; failed look-ups are limited per address, a good one costs nothing."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from integrations.website import tokens
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _file(client: Client) -> tuple[Ticket, str]:
    response = client.post(
        "/",
        {"phone": "13800001234", "title": "路灯", "content": "建设路路灯坏了一周了，晚上很黑。"},
    )
    assert response.status_code == 302, response.content[:300]
    return Ticket.objects.get(), response["Location"]


def _readable_parts(token: str) -> bytes:
    """Whatever base64 of the token (or of any dot-separated part of it) decodes to."""
    out = b""
    for part in [token, *token.split(":"), *token.split(".")]:
        padded = part + "=" * (-len(part) % 4)
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                out += decode(padded)
            except (binascii.Error, ValueError):
                pass
    return out


def test_the_filed_address_reveals_nothing(client: Client, categories: dict) -> None:
    cache.clear()
    ticket, location = _file(client)
    token = location.rstrip("/").rsplit("/", 1)[-1]
    decoded = _readable_parts(token)
    assert f'"t":{ticket.pk}'.encode() not in decoded and b'"t"' not in decoded
    assert ticket.case_no not in location and str(ticket.case_no).encode() not in decoded
    page = client.get(location)
    assert page.status_code == 200 and ticket.case_no in page.content.decode()
    # Two tokens for one ticket differ; neither opens the look-up page (another purpose).
    assert tokens.token_for(ticket.pk, "website.filed") != token
    assert client.get(f"/track/{token}/").status_code == 302


def test_it_refuses_an_expired_or_altered_token() -> None:
    token = tokens.token_for(7, "website.track")
    assert tokens.ticket_id_from(token, "website.track", 60) == 7
    assert tokens.ticket_id_from(token, "website.filed", 60) is None
    altered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert tokens.ticket_id_from(altered, "website.track", 60) is None
    assert tokens.ticket_id_from("\x00" + token, "website.track", 60) is None
    assert tokens.ticket_id_from(token, "website.track", -1) is None  # expired


def test_it_limits_failed_lookups_per_address(
    client: Client, categories: dict, settings: Any
) -> None:
    cache.clear()
    settings.TRACK_RATE_LIMIT = "3/hour"
    ticket, _location = _file(client)
    good = {"case_no": ticket.case_no, "query_code": ticket.query_code}
    for _ in range(5):  # good look-ups cost nothing
        assert client.post("/track/", good).status_code == 302
    for _ in range(3):
        bad = client.post("/track/", {"case_no": ticket.case_no, "query_code": "guess"})
        assert bad.status_code == 404
    refused = client.post("/track/", good)
    assert refused.status_code == 429
    assert re.search("查询失败次数过多.*3 次", refused.content.decode())
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert elsewhere.post("/track/", good).status_code == 302
