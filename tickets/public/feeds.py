"""The Atom feed of newly published records.

Citizens' and handlers' words are plain text: the summary is ``type="text"``, so a feed reader
shows ``<img src=x onerror=…>`` as those characters and never renders it (Django's Atom feed
writes ``type="html"``, which a reader unescapes once and renders)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from tickets.models_public import PublicRecord
from tickets.public.views import published, record_view

FEED_SIZE = 50


class PlainTextAtomFeed(Atom1Feed):
    """Atom with the summary as plain text."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        summary = item.get("description")
        super().add_item_elements(handler, {**item, "description": None})
        if summary is not None:
            handler.addQuickElement("summary", summary, {"type": "text"})


class PublishedRecordsFeed(Feed):
    feed_type = PlainTextAtomFeed
    title = "民声 · 诉求办理结果公开"
    subtitle = "市民诉求的办理结果（已去除个人信息）"

    def link(self) -> str:
        return reverse("public:list")

    def items(self) -> QuerySet[PublicRecord]:
        return published().order_by("-published_at", "-id")[:FEED_SIZE]

    def item_title(self, item: PublicRecord) -> str:
        view = record_view(item)
        return f"［{view['category']}］{view['title']}"

    def item_description(self, item: PublicRecord) -> str:
        view = record_view(item)
        if item.confidential:
            return f"承办部门：{view['department']}。{view['outcome']}。"
        return f"诉求：{view['content']}\n答复（{view['department']}）：{view['reply']}"

    def item_link(self, item: PublicRecord) -> str:
        return reverse("public:detail", args=[item.public_id])

    def item_pubdate(self, item: PublicRecord) -> dt.datetime:
        return item.published_at or item.replied_at

    def item_updateddate(self, item: PublicRecord) -> dt.datetime:
        return item.updated_at

    def item_categories(self, item: PublicRecord) -> list[str]:
        return [item.category.name] if item.category else []
