"""Inbox forms: the queue's filters and one form per action on a ticket.

Forms only parse and validate input; the views hand the cleaned data to one service.
Every action form carries the ticket's version as the page showed it, so a stale page gets a
conflict instead of overwriting someone else's change.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from tickets.models import Category, Channel, Department, RequestType, Role, State, Urgency
from tickets.views.queries import QueueFilter


def _departments() -> QuerySet[Department]:
    return Department.objects.filter(active=True).order_by("code")


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class HandlerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        profile = obj.staff_profile
        department = profile.department.name if profile.department else ""
        return f"{obj.get_full_name() or obj.get_username()}（{department}）"


def _handlers() -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True, staff_profile__role__in=[Role.HANDLER, Role.SUPERVISOR])
        .select_related("staff_profile__department")
        .order_by("staff_profile__department__code", "username")
    )


# --- the queue -----------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    q = forms.CharField(label="搜索", required=False, max_length=100)
    state = forms.MultipleChoiceField(label="状态", required=False, choices=State.choices)
    channel = forms.ChoiceField(
        label="渠道", required=False, choices=[("", "全部渠道"), *Channel.choices]
    )
    department = DepartmentChoiceField(
        label="部门", required=False, queryset=Department.objects.none(), empty_label="全部部门"
    )
    category = forms.ModelChoiceField(
        label="分类", required=False, queryset=Category.objects.none(), empty_label="全部分类"
    )
    request_type = forms.ChoiceField(
        label="诉求类型", required=False, choices=[("", "全部类型"), *RequestType.choices]
    )
    overdue = forms.BooleanField(label="已超时", required=False)
    supervised = forms.BooleanField(label="督办", required=False)
    mine = forms.BooleanField(label="派给我的", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]
        self.fields["category"].queryset = Category.objects.filter(  # type: ignore[attr-defined]
            active=True
        ).order_by("code")

    def to_filter(self) -> QueueFilter:
        """The filter to apply; invalid parts are ignored rather than refused."""
        data = self.cleaned_data if self.is_valid() else {}
        department = data.get("department")
        category = data.get("category")
        return QueueFilter(
            states=list(data.get("state") or []),
            channel=data.get("channel") or "",
            department_id=department.pk if department else None,
            category_id=category.pk if category else None,
            request_type=data.get("request_type") or "",
            overdue=bool(data.get("overdue")),
            supervised=bool(data.get("supervised")),
            mine=bool(data.get("mine")),
            q=(data.get("q") or "").strip(),
        )


class SavedViewForm(forms.Form):
    name = forms.CharField(label="视图名称", max_length=30)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


# --- actions on one ticket -------------------------------------------------------------------


def _text(label: str, *, rows: int = 3, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={"required": f"请填写{label}。"},
    )


class ActionForm(forms.Form):
    """Base: the version the page showed and the newest event it showed."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    seen_event = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class PlainActionForm(ActionForm):
    pass


class AssignForm(ActionForm):
    department = DepartmentChoiceField(
        label="承办部门",
        queryset=Department.objects.none(),
        required=False,
        empty_label="（按分类的默认部门）",
    )
    assignee = HandlerChoiceField(
        label="承办人（可选）",
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="（不指定）",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]
        self.fields["assignee"].queryset = _handlers()  # type: ignore[attr-defined]


class ReasonForm(ActionForm):
    reason = _text("理由")


class TransferForm(ActionForm):
    department = DepartmentChoiceField(
        label="转往部门",
        queryset=Department.objects.none(),
        error_messages={"required": "请选择转往的部门。"},
    )
    reason = _text("转办理由")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]


class RequestInfoForm(ActionForm):
    question = _text("需要市民补充的内容")


class ResumeForm(ActionForm):
    note = _text("说明", rows=2, required=False)


class ReplyForm(ActionForm):
    content = _text("答复内容", rows=6)


class MergeForm(ActionForm):
    into = forms.CharField(
        label="合并到工单编号", max_length=14, error_messages={"required": "请填写工单编号。"}
    )


class ClassifyForm(ActionForm):
    request_type = forms.ChoiceField(label="诉求类型", choices=RequestType.choices)
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices)
    category = forms.ModelChoiceField(
        label="分类", queryset=Category.objects.none(), required=False, empty_label="（未分类）"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(  # type: ignore[attr-defined]
            active=True
        ).order_by("code")


class NoteForm(ActionForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    text = _text("备注内容", rows=2)


class ExtensionRequestForm(ActionForm):
    days = forms.IntegerField(
        label="延期工作日",
        min_value=1,
        max_value=30,
        error_messages={"required": "请填写延期天数。", "min_value": "延期天数至少为 1。"},
    )
    reason = _text("延期理由")


class ExtensionDecideForm(ActionForm):
    request_id = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("approve", "批准"), ("reject", "驳回")])
    note = _text("审批意见（驳回时必填）", rows=2, required=False)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "acknowledge": PlainActionForm,
    "assign": AssignForm,
    "accept": PlainActionForm,
    "return_to_dispatch": ReasonForm,
    "transfer": TransferForm,
    "request_info": RequestInfoForm,
    "resume": ResumeForm,
    "reply": ReplyForm,
    "reopen": ReasonForm,
    "close": PlainActionForm,
    "merge_into": MergeForm,
    "mark_invalid": ReasonForm,
    "classify": ClassifyForm,
    "note": NoteForm,
    "request_extension": ExtensionRequestForm,
    "decide_extension": ExtensionDecideForm,
}


class BulkForm(forms.Form):
    """Bulk actions on the queue: each picked row is ``<id>:<version>``."""

    action = forms.ChoiceField(
        choices=[("acknowledge", "批量受理"), ("assign", "批量派单"), ("merge_into", "批量合并")]
    )
    pick = forms.Field(required=False, widget=forms.MultipleHiddenInput)
    department = DepartmentChoiceField(
        queryset=Department.objects.none(), required=False, empty_label="（按分类的默认部门）"
    )
    into = forms.CharField(max_length=14, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]

    def clean_pick(self) -> list[tuple[int, int | None]]:
        picked = []
        for value in self.data.getlist("pick") if hasattr(self.data, "getlist") else []:
            ticket_id, _, version = str(value).partition(":")
            if not ticket_id.isdigit():
                raise forms.ValidationError("勾选的工单无效。")
            picked.append((int(ticket_id), int(version) if version.isdigit() else None))
        if not picked:
            raise forms.ValidationError("请先勾选工单。")
        return picked

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "merge_into" and not (data.get("into") or "").strip():
            self.add_error("into", "请填写合并到的工单编号。")
        return data
