"""Django admin for the working calendar and the SLA policies (both edited by administrators)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sla.models import CalendarYear, SlaPolicy, WorkingDay
from tickets.models import RequestType, Urgency

MANUAL = "manual"


@admin.register(WorkingDay)
class WorkingDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "name", "source"]
    list_filter = ["is_workday", "source"]
    list_editable = ["is_workday", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"
    fields = ["date", "is_workday", "name", "source"]
    readonly_fields = ["source"]

    def save_model(self, request: HttpRequest, obj: WorkingDay, form: Any, change: bool) -> None:
        # A day an administrator touched is theirs: the seed never overwrites it.
        obj.source = MANUAL
        super().save_model(request, obj, form, change)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "imported_at"]
    fields = ["year", "source", "imported_at"]
    readonly_fields = ["imported_at"]


class SlaPolicyForm(forms.ModelForm):
    """Request type and urgency are free text in the table (blank = any): offer the choices."""

    request_type = forms.ChoiceField(
        label=_("诉求类型"),
        required=False,
        choices=[("", _("任意类型")), *RequestType.choices],
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"), required=False, choices=[("", _("任意")), *Urgency.choices]
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "kind",
            "request_type",
            "urgency",
            "category",
            "unit",
            "amount",
            "counting",
            "active",
        ]

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount is None or amount < 1:
            raise forms.ValidationError(_("时限至少为 1。"))
        return int(amount)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "name",
        "kind",
        "request_type_label",
        "urgency_label",
        "category",
        "amount",
        "unit",
        "counting",
        "active",
    ]
    list_filter = ["kind", "unit", "active"]
    search_fields = ["name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]

    @admin.display(description=_("诉求类型"), ordering="request_type")
    def request_type_label(self, obj: SlaPolicy) -> str:
        if not obj.request_type:
            return "任意"
        if obj.request_type in RequestType.values:
            return str(RequestType(obj.request_type).label)
        return obj.request_type

    @admin.display(description=_("紧急程度"), ordering="urgency")
    def urgency_label(self, obj: SlaPolicy) -> str:
        if not obj.urgency:
            return "任意"
        return str(Urgency(obj.urgency).label) if obj.urgency in Urgency.values else obj.urgency
