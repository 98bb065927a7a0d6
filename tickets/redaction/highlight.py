"""HTML for the reviewer: the original with what will be removed marked, and the redacted copy
with each mask marked. Escapes everything else."""

from __future__ import annotations

import re
from html import escape

from tickets.redaction.core import KIND_LABELS, Mask

MASK_TOKEN = re.compile(r"\[(?:" + "|".join(map(re.escape, KIND_LABELS.values())) + r")\]")


def highlight_original(text: str, masks: tuple[Mask, ...] | list[Mask]) -> str:
    pieces: list[str] = []
    cursor = 0
    for mask in sorted(masks, key=lambda item: item.start):
        pieces.append(escape(text[cursor : mask.start]))
        pieces.append(
            f'<mark class="masked" data-kind="{escape(mask.kind)}" title="{escape(mask.label)}">'
            f"{escape(text[mask.start : mask.end])}</mark>"
        )
        cursor = mask.end
    pieces.append(escape(text[cursor:]))
    return "".join(pieces)


def highlight_masked(text: str) -> str:
    """Mark every mask token in a (possibly hand-edited) redacted text."""
    pieces: list[str] = []
    cursor = 0
    for match in MASK_TOKEN.finditer(text):
        pieces.append(escape(text[cursor : match.start()]))
        pieces.append(f'<mark class="mask">{escape(match.group(0))}</mark>')
        cursor = match.end()
    pieces.append(escape(text[cursor:]))
    return "".join(pieces)
