"""Django admin for the inbound journal: read only, to see what arrived and why it failed."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.models import InboundMessage
from tickets.admin import ReadOnlyAdminMixin, json_block

# Enough to read any real message; a huge body is cut rather than freezing the page.
RAW_BODY_SHOWN = 20_000


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "channel", "account", "dedupe_key", "status", "ticket"]
    list_filter = ["status", "channel"]
    search_fields = ["dedupe_key"]
    list_select_related = ["ticket"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    fields = readonly_fields = (
        "channel",
        "account",
        "dedupe_key",
        "status",
        "reason",
        "ticket",
        "received_at",
        "processed_at",
        "attempts",
        "content_type",
        "headers_text",
        "raw_body_text",
        "parsed_text",
        "response_text",
    )

    @admin.display(description=_("原始内容"))
    def raw_body_text(self, obj: InboundMessage) -> SafeString:
        body = bytes(obj.raw_body or b"")
        text = body[:RAW_BODY_SHOWN].decode("utf-8", errors="replace")
        if len(body) > RAW_BODY_SHOWN:
            text += f"\n…（共 {len(body)} 字节，只显示前 {RAW_BODY_SHOWN} 字节）"
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)

    @admin.display(description=_("请求头"))
    def headers_text(self, obj: InboundMessage) -> str:
        return json_block(obj.headers)

    @admin.display(description=_("解析结果"))
    def parsed_text(self, obj: InboundMessage) -> str:
        return json_block(obj.parsed)

    @admin.display(description=_("回复"))
    def response_text(self, obj: InboundMessage) -> str:
        return json_block(obj.response)
