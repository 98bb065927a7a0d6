"""Redaction: find personal data in Chinese text and mask it with the kind that was removed.

Pure functions, no database. ``redact(text, names=[...])`` returns the masked text and where
each mask came from (spans in the original), so a reviewer can see both side by side.
"""

from tickets.redaction.core import KIND_LABELS, Mask, Redacted, redact
from tickets.redaction.highlight import highlight_masked, highlight_original
from tickets.redaction.suspicious import SUSPECT_LABELS, Suspect, find_suspects

__all__ = [
    "KIND_LABELS",
    "SUSPECT_LABELS",
    "Mask",
    "Redacted",
    "Suspect",
    "find_suspects",
    "highlight_masked",
    "highlight_original",
    "redact",
]
