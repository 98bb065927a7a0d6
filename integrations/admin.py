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

from integrations.accounts import AccountError, account_options, channel_account_save
from integrations.models import ChannelAccount, InboundMessage, OutboxMessage
from integrations.registry import AccountField, account_kinds
from tickets.admin import ReadOnlyAdminMixin, json_block
from tickets.channels import channel_label

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
    """Options per kind; secrets are write-only (left empty = unchanged, never shown). The
    option fields are the channels' (``ChannelSpec.account_fields``): ``account_form()``."""

    class Meta:
        model = ChannelAccount
        fields = ["kind", "slug", "name", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind") or (self.instance.kind if self.instance.pk else "")
        options = account_options()
        values = {key: data.get(key) for key in options.get(kind, ()) if data.get(key)}
        if kind and data.get("slug"):
            try:
                with transaction.atomic():
                    channel_account_save(kind=kind, slug=data["slug"], values=values)
                    transaction.set_rollback(True)  # validation only; saved in save_model
            except AccountError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        self.options = values
        return data


def _option_field(field: AccountField, channels: list[str]) -> forms.Field:
    label = f"{field.label}（{'、'.join(channels)}）"
    if field.choices:
        return forms.ChoiceField(label=label, required=False, choices=[("", "-"), *field.choices])
    widget = forms.PasswordInput if field.secret else forms.TextInput
    return forms.CharField(label=label, required=False, widget=widget)


def account_form() -> type[ChannelAccountForm]:
    """The form with every channel's options, public ones first (the form is built from the
    registry, so a channel registered later, e.g. under test, has its fields too)."""
    fields: dict[str, tuple[AccountField, list[str]]] = {}
    for kind, spec in account_kinds().items():
        for field in spec.account_fields:
            _first, channels = fields.setdefault(field.name, (field, []))
            channels.append(channel_label(kind))
    ordered = sorted(fields.items(), key=lambda item: item[1][0].secret)
    attributes = {name: _option_field(field, kinds) for name, (field, kinds) in ordered}
    return type("ChannelAccountForm", (ChannelAccountForm,), attributes)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    form = ChannelAccountForm
    list_display = ["slug", "kind", "name", "active", "shown_config", "secrets_set"]
    list_filter = ["kind", "active"]
    search_fields = ["slug", "name"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = account_form()
        return super().get_form(request, obj, change, **kwargs)

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
