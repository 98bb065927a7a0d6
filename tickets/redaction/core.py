"""Putting the rules together: collect candidate spans, keep the strongest where they overlap,
and replace each kept span with its mask."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from tickets.redaction import names as name_rules
from tickets.redaction import patterns

KIND_LABELS: dict[str, str] = {
    "email": "邮箱",
    "wechat": "微信号",
    "qq": "QQ号",
    "id_card": "身份证号",
    "bank_card": "银行卡号",
    "phone": "电话",
    "plate": "车牌",
    "address": "地址",
    "name": "姓名",
}
MASKS = {kind: f"[{label}]" for kind, label in KIND_LABELS.items()}


@dataclass(frozen=True)
class Mask:
    kind: str
    start: int
    end: int

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def token(self) -> str:
        return MASKS[self.kind]


@dataclass(frozen=True)
class Redacted:
    original: str
    text: str
    masks: tuple[Mask, ...]

    @property
    def changed(self) -> bool:
        return bool(self.masks)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for mask in self.masks:
            out[mask.kind] = out.get(mask.kind, 0) + 1
        return out


Finder = Callable[[str], Iterator[tuple[int, int]]]


def _rules(names: Iterable[str]) -> list[tuple[str, Finder]]:
    """In order of precedence: where two spans overlap, the earlier rule wins."""
    known = [name for name in names if name]
    return [
        ("email", patterns.find_email),
        ("id_card", patterns.find_id_card),
        ("bank_card", patterns.find_bank_card),
        # A QQ number after "QQ号码" would otherwise pass for a local phone number; a WeChat ID
        # that is a mobile number is labelled a phone.
        ("qq", patterns.find_qq),
        ("phone", patterns.find_phone),
        ("wechat", patterns.find_wechat),
        ("plate", patterns.find_plate),
        ("address", patterns.find_address),
        ("name", lambda text: name_rules.find_known_names(text, known)),
        ("name", name_rules.find_familiar_names),
        ("name", name_rules.find_honorific_names),
        ("name", name_rules.find_segmented_names),
    ]


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def redact(text: str, *, names: Iterable[str] = ()) -> Redacted:
    """Mask personal data in ``text``; ``names`` are names known to appear (the citizen's)."""
    text = text or ""
    kept: list[Mask] = []
    taken: list[tuple[int, int]] = []
    for kind, finder in _rules(names):
        # Within one rule, longer spans first: "3栋2单元501室" beats "501室".
        for span in sorted(set(finder(text)), key=lambda s: (s[0] - s[1], s[0])):
            if span[0] < span[1] and not _overlaps(span, taken):
                taken.append(span)
                kept.append(Mask(kind=kind, start=span[0], end=span[1]))
    kept.sort(key=lambda mask: mask.start)
    pieces: list[str] = []
    cursor = 0
    for mask in kept:
        pieces.append(text[cursor : mask.start])
        pieces.append(mask.token)
        cursor = mask.end
    pieces.append(text[cursor:])
    return Redacted(original=text, text="".join(pieces), masks=tuple(kept))
