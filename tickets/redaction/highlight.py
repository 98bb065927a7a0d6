"""HTML for the reviewer: the original with what will be removed marked, and the redacted copy
with each mask marked and each span that still looks like a number, an ID or a handle flagged.
Escapes everything else."""

from __future__ import annotations

from html import escape

from tickets.redaction.core import Mask
from tickets.redaction.suspicious import MASK_TOKEN, find_suspects


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
    """Mark every mask token in a (possibly hand-edited) redacted text, and every suspicious
    span still in it (``tickets.redaction.suspicious``)."""
    marks = [
        (match.start(), match.end(), f'<mark class="mask">{escape(match.group(0))}</mark>')
        for match in MASK_TOKEN.finditer(text)
    ]
    marks += [
        (
            suspect.start,
            suspect.end,
            f'<mark class="suspicious" data-kind="{suspect.kind}" title="{suspect.label}">'
            f"{escape(suspect.text)}</mark>",
        )
        for suspect in find_suspects(text)
    ]
    pieces: list[str] = []
    cursor = 0
    for start, end, html in sorted(marks):
        pieces.append(escape(text[cursor:start]))
        pieces.append(html)
        cursor = end
    pieces.append(escape(text[cursor:]))
    return "".join(pieces)
