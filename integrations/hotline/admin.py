"""Admin for a 12345 platform's code maps: its unit codes → our departments, its
classification codes → our categories (imported by the hotline's ``channel`` module)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import ForeignKey
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from integrations.models import ChannelAccount, HotlineCodeMap
from tickets.models import Channel


class HotlineCodeMapForm(forms.ModelForm):
    class Meta:
        model = HotlineCodeMap
        fields = ("account", "kind", "code", "department", "category")
        labels = {
            "account": _("12345 平台账号"),
            "department": _("对应部门"),
            "category": _("对应分类"),
        }
        help_texts = {
            "code": _("平台下发的承办单位代码或分类代码，须与平台完全一致。"),
            "department": _("类型为“承办单位代码”时必填。"),
            "category": _("类型为“分类代码”时必填。"),
        }

    def clean_code(self) -> str:
        code = str(self.cleaned_data.get("code") or "").strip()
        if not code:
            raise forms.ValidationError(_("请填写平台代码。"))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        account = data.get("account")
        if account is not None and account.kind != Channel.HOTLINE:
            self.add_error("account", _("请选择 12345 热线平台账号。"))
        if kind == HotlineCodeMap.Kind.UNIT:
            if data.get("department") is None:
                self.add_error("department", _("承办单位代码须对应一个部门。"))
            if data.get("category") is not None:
                self.add_error("category", _("承办单位代码不对应分类，请留空。"))
        elif kind == HotlineCodeMap.Kind.CATEGORY:
            if data.get("category") is None:
                self.add_error("category", _("分类代码须对应一个分类。"))
            if data.get("department") is not None:
                self.add_error("department", _("分类代码不对应部门，请留空。"))
        return data


class AccountFilter(admin.RelatedFieldListFilter):
    """By platform account (the model field has no Chinese name of its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = str(_("12345 平台账号"))


@admin.register(HotlineCodeMap)
class HotlineCodeMapAdmin(admin.ModelAdmin):
    form = HotlineCodeMapForm
    list_display = ("code", "kind", "target", "platform")
    list_filter = (("account", AccountFilter), "kind")
    search_fields = ("code", "department__name", "category__name")
    list_select_related = ("account", "department", "category")
    autocomplete_fields = ("department", "category")
    ordering = ("account", "kind", "code")

    @admin.display(description=_("对应部门/分类"))
    def target(self, obj: HotlineCodeMap) -> str:
        target = obj.department if obj.kind == HotlineCodeMap.Kind.UNIT else obj.category
        return str(target) if target is not None else "（未设置）"

    @admin.display(description=_("12345 平台账号"), ordering="account__slug")
    def platform(self, obj: HotlineCodeMap) -> str:
        return str(obj.account)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "account":
            kwargs["queryset"] = ChannelAccount.objects.filter(kind=Channel.HOTLINE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
