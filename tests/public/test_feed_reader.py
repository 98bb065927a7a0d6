"""The Atom feed read as a feed reader reads it (issue 13, item 6), and public ids that a
spreadsheet never takes for a formula (item 9).

A reader takes each text construct by its ``type``: ``text`` is shown as characters,
``html`` is unescaped once more and rendered as HTML. So a citizen's ``<img src=x
onerror=…>`` must never reach a reader inside an ``html`` construct."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import walk
from tickets import services
from tickets.models import Ticket
from tickets.models_public import PublicRecord, new_public_id
from tickets.text import FORMULA_START

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
ATTACK = '楼下路灯坏了<img src=x onerror="alert(document.cookie)"><script>alert(1)</script>'


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def rendered_elements(construct: ET.Element) -> list[str]:
    """The HTML elements a feed reader would render for an Atom text construct."""
    kind = construct.get("type", "text")
    if kind == "text":
        return []  # shown as characters
    if kind == "xhtml":
        return [child.tag for child in construct.iter()][1:]
    parser = _Elements()
    parser.feed(construct.text or "")  # the XML parser has already unescaped it once
    return parser.tags


def test_a_feed_reader_shows_citizen_and_handler_text_as_text(
    client: Client, make_ticket: Any, cast: dict, departments: dict
) -> None:
    ticket = walk(make_ticket(ATTACK), cast, departments, "in_progress")
    services.ticket_reply(
        actor=cast["handler_a"], ticket_id=ticket.pk, content='已修复<a href="javascript:x">看</a>'
    )
    record = PublicRecord.objects.get(ticket=ticket)
    if record.status != PublicRecord.Status.PUBLISHED:
        from tickets import publication

        publication.public_record_review(
            actor=cast["dispatcher"], record_id=record.pk, action="approve"
        )
    root = ET.fromstring(client.get("/public/feed/").content)
    entries = root.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        for name in ("title", "summary", "content"):
            construct = entry.find(f"{ATOM}{name}")
            if construct is not None:
                assert rendered_elements(construct) == [], (name, construct.text)
    summary = entries[0].find(f"{ATOM}summary")
    assert summary is not None and summary.get("type") == "text"
    assert "<img src=x" in (summary.text or "")  # shown to the reader as the characters typed


def test_public_ids_never_start_like_a_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets

    for start in ("-", "_", "=", "+", "@"):
        monkeypatch.setattr(secrets, "token_urlsafe", lambda size, s=start: s + "A" * 11)
        made = new_public_id()
        assert not made.startswith(FORMULA_START) and made[0].isalnum(), made
        assert len(made) == 12
    monkeypatch.undo()
    assert len({new_public_id() for _ in range(2000)}) == 2000


def test_the_open_data_lists_every_public_id_as_the_page_shows_it(
    client: Client, make_ticket: Any, cast: dict, departments: dict
) -> None:
    for index in range(40):  # 40 ids: before, about half a run held one starting with "-"
        walk(make_ticket(f"建设路第{index}号路灯坏了，晚上很黑。"), cast, departments, "replied")
    published = set(
        PublicRecord.objects.filter(status=PublicRecord.Status.PUBLISHED).values_list(
            "public_id", flat=True
        )
    )
    month = timezone.localdate().strftime("%Y-%m")
    body = b"".join(client.get(f"/public/data/{month}.csv").streaming_content).decode("utf-8-sig")
    assert {row["公开编号"] for row in csv.DictReader(io.StringIO(body))} == published
    assert len(published) == 40


def test_the_migration_reissues_ids_that_start_like_a_formula(
    make_ticket: Any, cast: dict, departments: dict
) -> None:
    import importlib

    from django.apps import apps

    ticket = walk(make_ticket(), cast, departments, "replied")
    PublicRecord.objects.filter(ticket=ticket).update(public_id="-Abcdefghijk")
    Ticket.objects.filter(pk=ticket.pk).update(public_id="-Abcdefghijk")
    migration = importlib.import_module("tickets.migrations.0013_public_ids_without_formula_start")
    migration.reissue(apps, None)
    record = PublicRecord.objects.get(ticket=ticket)
    assert record.public_id[0].isalnum()
    assert Ticket.objects.get(pk=ticket.pk).public_id == record.public_id  # still one id
