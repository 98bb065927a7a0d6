"""The labelled hot-issue set (tests/fixtures/hotspots/*.txt), read into documents.

The format is described at the top of ``labelled.txt``. A ticket's time is "hours ago" from a
fixed moment, so every run sees the same set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from tickets.hotspots.cluster import Doc

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hotspots"
NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@dataclass(frozen=True)
class Labelled:
    doc: Doc
    issue: str
    category: str
    channel: str


def _jitter(number: int) -> tuple[float, float]:
    digest = hashlib.sha256(str(number).encode()).digest()
    return (digest[0] / 255 - 0.5) * 0.0027, (digest[1] / 255 - 0.5) * 0.0031


def labelled(name: str = "labelled.txt") -> list[Labelled]:
    items: list[Labelled] = []
    block: tuple[str, str, str, str] | None = None
    singles = 0
    path = FIXTURES / name
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("=="):
            issue, category, place, point = (part.strip() for part in line[2:].split("|"))
            block = (issue, category, place, point)
            continue
        assert block is not None, f"{path.name}:{number}: a ticket before any block"
        hours, channel, address, geo, text = (part.strip() for part in line.split("|", 4))
        issue, category, place, point = block
        if issue == "*":
            singles += 1
            issue = f"single-{singles}"
        address = place if address == "A" else ("" if address == "-" else address)
        lat = lon = None
        if geo == "G":
            base_lat, base_lon = (float(value) for value in point.split(","))
            d_lat, d_lon = _jitter(number)
            lat, lon = base_lat + d_lat, base_lon + d_lon
        elif geo != "-":
            lat, lon = (float(value) for value in geo.split(","))
        doc = Doc(
            key=len(items) + 1,
            text=text,
            at=NOW - dt.timedelta(hours=float(hours)),
            address=address,
            lat=lat,
            lon=lon,
        )
        items.append(Labelled(doc=doc, issue=issue, category=category, channel=channel))
    return items
