"""The short-lived tokens in the citizen's page addresses (/filed/…, /track/…).

They carry the ticket's id, encrypted and authenticated (Fernet: AES-128-CBC + HMAC-SHA256
with a timestamp), with a key of its own per purpose derived from ``SECRET_KEY``. Signing
alone (``django.core.signing``) would leave the id readable by anyone holding the address:
addresses end up in browser histories, proxy logs and Referer headers."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

_TOKEN = re.compile(r"[A-Za-z0-9_=-]+")


def _fernet(purpose: str) -> Fernet:
    digest = hashlib.sha256(f"minsheng.{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def token_for(ticket_id: int, purpose: str) -> str:
    payload = json.dumps({"t": ticket_id}, separators=(",", ":")).encode()
    return _fernet(purpose).encrypt(payload).decode("ascii")


def ticket_id_from(token: str, purpose: str, max_age: int) -> int | None:
    """The ticket id in a token made for ``purpose`` at most ``max_age`` seconds ago."""
    if not token or len(token) > 500 or not _TOKEN.fullmatch(token):
        return None
    try:
        data = json.loads(_fernet(purpose).decrypt(token.encode("ascii"), ttl=max_age))
    except (InvalidToken, ValueError):
        return None
    ticket_id = data.get("t") if isinstance(data, dict) else None
    return ticket_id if isinstance(ticket_id, int) and not isinstance(ticket_id, bool) else None
