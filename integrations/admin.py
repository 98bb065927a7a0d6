"""Django admin for the inbound journal: read only, to see what arrived and why it failed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.accounts import OPTIONS, AccountError, channel_account_save
from integrations.models import ChannelAccount, InboundMessage, OutboxMessage
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
        return format_html('<pre class="minsheng-pre">{}</pre>', text)

    @admin.display(description=_("请求头"))
    def headers_text(self, obj: InboundMessage) -> str:
        return json_block(obj.headers)

    @admin.display(description=_("解析结果"))
    def parsed_text(self, obj: InboundMessage) -> str:
        return json_block(obj.parsed)

    @admin.display(description=_("回复"))
    def response_text(self, obj: InboundMessage) -> str:
        return json_block(obj.response)


class ChannelAccountForm(forms.ModelForm):
    """Options per kind; secrets are write-only (left empty = unchanged, never shown)."""

    mode = forms.ChoiceField(
        label=_("消息模式（微信）"),
        required=False,
        choices=[("", "-"), ("plain", "明文"), ("compatible", "兼容"), ("safe", "安全")],
    )
    app_id = forms.CharField(label="AppID（微信）", required=False)
    original_id = forms.CharField(label=_("原始ID gh_…（微信）"), required=False)
    uid = forms.CharField(label=_("微博 UID"), required=False)
    app_key = forms.CharField(label="App Key（微博）", required=False)
    callback_base = forms.CharField(label=_("回调地址（12345）"), required=False)
    token = forms.CharField(label="Token（微信）", required=False, widget=forms.PasswordInput)
    app_secret = forms.CharField(label="AppSecret", required=False, widget=forms.PasswordInput)
    encoding_aes_key = forms.CharField(
        label="EncodingAESKey（微信）", required=False, widget=forms.PasswordInput
    )
    access_token = forms.CharField(
        label=_("Access token（微博）"), required=False, widget=forms.PasswordInput
    )
    secret = forms.CharField(
        label=_("共享密钥（12345）"), required=False, widget=forms.PasswordInput
    )

    class Meta:
        model = ChannelAccount
        fields = ["kind", "slug", "name", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind") or (self.instance.kind if self.instance.pk else "")
        values = {key: data.get(key) for key in OPTIONS.get(kind, ()) if data.get(key)}
        if kind and data.get("slug"):
            try:
                with transaction.atomic():
                    channel_account_save(kind=kind, slug=data["slug"], values=values)
                    transaction.set_rollback(True)  # validation only; saved in save_model
            except AccountError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        self.options = values
        return data


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    form = ChannelAccountForm
    list_display = ["slug", "kind", "name", "active", "shown_config", "secrets_set"]
    list_filter = ["kind", "active"]
    search_fields = ["slug", "name"]

    @admin.display(description=_("配置"))
    def shown_config(self, obj: ChannelAccount) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(obj.config.items())) or "-"

    @admin.display(description=_("已设置的密钥"))
    def secrets_set(self, obj: ChannelAccount) -> str:
        return ", ".join(sorted(obj.secrets)) or "-"

    def save_model(
        self, request: HttpRequest, obj: ChannelAccount, form: Any, change: bool
    ) -> None:
        account, _created = channel_account_save(
            kind=form.cleaned_data["kind"], slug=form.cleaned_data["slug"], values=form.options
        )
        ChannelAccount.objects.filter(pk=account.pk).update(
            name=form.cleaned_data.get("name", ""), active=form.cleaned_data.get("active", True)
        )
        obj.pk = account.pk
        obj.refresh_from_db()


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What was (or could not be) sent to citizens and platforms; failed rows can be retried."""

    list_display = [
        "created_at",
        "kind",
        "channel",
        "ticket",
        "status",
        "attempts",
        "via",
        "last_error",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["ticket__case_no", "idempotency_key"]
    list_select_related = ["ticket"]
    actions = ["retry"]

    @admin.action(description=_("重新发送所选消息"))
    def retry(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.exclude(status=OutboxMessage.Status.SENT).update(
            status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now(), last_error=""
        )
        self.message_user(request, f"已重新排队 {count} 条消息。")


# The 12345 code maps have their own admin module in the hotline package.
from integrations.hotline import admin as hotline_admin  # noqa: E402,F401
