"""Admin for public records (review also possible here) and Open311 API keys (shown once)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from tickets import publication
from tickets.models_public import Open311ApiKey, PublicRecord


class PublicRecordForm(forms.ModelForm):
    confirm_suspects = forms.BooleanField(
        label="确认疑似个人信息",
        required=False,
        help_text="公开文本中仍有像号码、证件号或账号的内容时，须逐一核对后勾选此项才能公开。",
    )

    class Meta:
        model = PublicRecord
        fields = ["status", "title", "content", "reply", "address", "review_note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") == PublicRecord.Status.WITHHELD and not data.get("review_note"):
            self.add_error("review_note", "不予公开必须填写理由。")
        publishing = data.get("status") == PublicRecord.Status.PUBLISHED and (
            "status" in self.changed_data
            or {"title", "content", "reply", "address"} & set(self.changed_data)
        )
        if publishing and not self.instance.confidential and not data.get("confirm_suspects"):
            # The same rule as the review page: whoever publishes confirms what still looks
            # like personal data.
            copy = {field: data.get(field) or "" for field in publication.PUBLIC_FIELDS}
            found = publication.public_copy_suspects(copy)
            if found:
                listed = "、".join(
                    f"{suspect.text}（{publication.PUBLIC_FIELDS[field]}）"
                    for field, suspect in found
                )
                self.add_error(
                    "confirm_suspects",
                    f"公开文本中仍有 {len(found)} 处疑似个人信息：{listed}。"
                    "请改为遮盖标记，或核对确认都不是个人信息后勾选此项。",
                )
        return data


@admin.register(PublicRecord)
class PublicRecordAdmin(admin.ModelAdmin):
    form = PublicRecordForm
    list_display = [
        "public_id",
        "title",
        "status",
        "department",
        "category",
        "replied_at",
        "on_time",
        "confidential",
        "mask_summary",
    ]
    list_filter = ["status", "confidential", "on_time", "department"]
    search_fields = ["public_id", "ticket__case_no", "title"]
    list_select_related = ["department", "category"]
    readonly_fields = [
        "review_link",
        "public_id",
        "ticket",
        "confidential",
        "category",
        "department",
        "request_type",
        "channel",
        "received_at",
        "replied_at",
        "on_time",
        "masks",
        "auto_published",
        "edited",
        "reviewed_by",
        "reviewed_at",
        "published_at",
    ]
    fields = [
        *readonly_fields[:1],
        *PublicRecordForm.Meta.fields,  # type: ignore[misc]
        "confirm_suspects",
        *readonly_fields[1:],
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # records come from replies

    @admin.display(description="脱敏")
    def mask_summary(self, record: PublicRecord) -> str:
        from tickets.redaction import KIND_LABELS

        counts = record.masks if isinstance(record.masks, dict) else {}
        return "，".join(f"{KIND_LABELS.get(k, k)}×{n}" for k, n in counts.items() if n) or "-"

    @admin.display(description="对照审核")
    def review_link(self, record: PublicRecord) -> str:
        url = reverse("public:review_detail", args=[record.pk])
        return format_html('<a href="{}">原文与脱敏文本对照</a>', url)

    def save_model(self, request: HttpRequest, obj: PublicRecord, form: Any, change: bool) -> None:
        if "status" in form.changed_data:
            obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()  # type: ignore[assignment]
            obj.auto_published = False
            published = obj.status == PublicRecord.Status.PUBLISHED
            obj.published_at = timezone.now() if published else None
        if {"title", "content", "reply", "address"} & set(form.changed_data):
            obj.edited = True
        super().save_model(request, obj, form, change)


@admin.register(Open311ApiKey)
class Open311ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "active", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "prefix"]
    fields = ["name", "active", "prefix", "created_by", "created_at", "last_used_at"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at"]

    def save_model(self, request: HttpRequest, obj: Open311ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw_key = obj.set_new_key()
        obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        messages.warning(
            request,
            f"新的 Open311 API 密钥（只显示这一次，请立即复制保存）：{raw_key}",
        )
