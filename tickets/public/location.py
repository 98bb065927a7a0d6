"""Where a case is, as the public may know it: the street, never the door.

One rule for every public view of a case (the public pages and Open311): the redacted address cut
back to its road (or, failing that, its district), and the coordinates rounded to 0.001° (about
100 m). A confidential case shows no location at all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# About 100 m: a street, not a door.
STREET_LEVEL = Decimal("0.001")
# Where the precise part of an address begins: a number (house, building, floor, room), a
# Chinese numeral before a unit word, or a redaction mask ("[地址]").
PRECISE = re.compile(
    r"[0-9０-９\[［]|[一二三四五六七八九十百千零〇两]+(?:号|栋|幢|楼|单元|室|弄|层|座|期)"
)
# The end of a road's name; "街道" (a sub-district) before "街" so it stays whole.
ROAD = re.compile(r"街道|大道|路|街|巷|胡同|弄")
# Failing a road: the end of an administrative area (not 小区/社区, which are a few buildings).
AREA = re.compile(r"省|市|(?<![小社园])区|县|镇|乡")
TRAILING = " ，,、。;；:：(（-—"


def street_level(address: str) -> str:
    """``address`` cut back to the street: "建设路88号3栋501室" → "建设路"."""
    text = " ".join((address or "").split())
    precise = PRECISE.search(text)
    if precise:
        text = text[: precise.start()]
    for pattern in (ROAD, AREA):
        ends = [match.end() for match in pattern.finditer(text)]
        if ends:
            return text[: ends[-1]].rstrip(TRAILING)
    return ""


def coarse_coordinate(value: Decimal | float | str | None) -> float | None:
    if value is None or value == "":
        return None
    return float(Decimal(str(value)).quantize(STREET_LEVEL, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PublicLocation:
    address: str
    lat: float | None
    long: float | None

    def __bool__(self) -> bool:
        return bool(self.address) or self.lat is not None


NOWHERE = PublicLocation(address="", lat=None, long=None)


def public_location(*, record: Any, ticket: Any) -> PublicLocation:
    """The location of a published, non-confidential ``record`` of ``ticket``; else nothing."""
    if record is None or record.confidential or ticket.confidential:
        return NOWHERE
    lat, long = coarse_coordinate(ticket.latitude), coarse_coordinate(ticket.longitude)
    if lat is None or long is None:
        lat = long = None
    return PublicLocation(address=street_level(record.address), lat=lat, long=long)
