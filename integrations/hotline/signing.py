"""The 12345 interface's signature, used in both directions (pure: no database, no clock).

``X-Hotline-Signature`` is the lowercase hex HMAC-SHA256, keyed with the account secret's UTF-8
bytes, of ``timestamp + "\\n" + nonce + "\\n" + raw body bytes``."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-Hotline-Timestamp"
NONCE_HEADER = "X-Hotline-Nonce"
SIGNATURE_HEADER = "X-Hotline-Signature"

MAX_SKEW_SECONDS = 300
NONCE_TTL_SECONDS = 600
MAX_NONCE_LENGTH = 128


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode("utf-8") + b"\n" + nonce.encode("utf-8") + b"\n" + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_valid(secret: str, timestamp: str, nonce: str, body: bytes, given: str) -> bool:
    """Constant-time comparison; an empty secret never verifies anything."""
    if not secret or not given:
        return False
    expected = signature(secret, timestamp, nonce, body)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().encode("utf-8"))


def timestamp_fresh(timestamp: str, *, now: float, max_skew: int = MAX_SKEW_SECONDS) -> bool:
    """Epoch seconds within ``max_skew`` of ``now``, in either direction."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now) <= max_skew


def signed_headers(
    secret: str, body: bytes, *, now: float, nonce: str | None = None
) -> dict[str, str]:
    """The three headers for a request we send (a callback) or a test sends to us."""
    timestamp = str(int(now))
    nonce = nonce or secrets.token_hex(16)
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, timestamp, nonce, body),
    }
