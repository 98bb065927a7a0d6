"""Inbox forms: the queue's filters and one form per action on a ticket.

Forms only parse and validate input; the views hand the cleaned data to one service.
Every action form carries the ticket's version as the page showed it, so a stale page gets a
conflict instead of overwriting someone else's change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from html import escape
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils.choices import BaseChoiceIterator
from django.utils.safestring import SafeString, mark_safe

from tickets.categories import category_options
from tickets.channels import channel_choices
from tickets.models import Category, Department, RequestType, Role, State, Urgency
from tickets.text import id_or_none
from tickets.views.departments import DepartmentNode, department_nodes, subtree_ids
from tickets.views.queries import QueueFilter

Choices = list[tuple[Any, str]]


class Options(BaseChoiceIterator):
    """(value, label) pairs for a choice field and its widget, read on first use (a form that
    is only validated without a value, or never shown, costs no query) and then kept. Django
    keeps an iterator as it is, where it would walk a plain list of 200 departments through
    ``normalize_choices`` on every assignment, for the field and again for its widget."""

    def __init__(self, pairs: Callable[[], Choices]) -> None:
        self._read = pairs
        self._pairs: Choices | None = None

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        if self._pairs is None:
            self._pairs = self._read()
        return iter(self._pairs)


@functools.lru_cache(maxsize=64)
def _options_html(options: tuple[tuple[str, str, bool], ...]) -> str:
    """The ``<option>`` list of (value, label, label is already HTML) triples, none selected.
    Keyed on the options themselves, so a renamed or added department is a new entry."""
    return "".join(
        f'\n  <option value="{escape(value)}">{label if safe else escape(label)}</option>'
        for value, label, safe in options
    )


class FastSelect(forms.Select):
    """A ``<select>`` built in Python: the HTML of Django's own widget, without a template
    render per ``<option>``, and each distinct list of options built once per process. Two
    lists of 200 departments rendered option by option through the widget templates were
    more than half of the queue page's time (issue #8, W3)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        choices = list(self.choices)
        if self.allow_multiple_selected or any(
            isinstance(label, (list, tuple)) for _, label in choices
        ):
            return super().render(name, value, attrs, renderer)  # option groups: Django's way
        options = _options_html(
            tuple(
                (
                    "" if option_value is None else str(option_value),
                    str(label.__html__()) if hasattr(label, "__html__") else str(label),
                    hasattr(label, "__html__"),
                )
                for option_value, label in choices
            )
        )
        # As Django does: the first option whose value is wanted is the selected one.
        found = [
            (at, marker)
            for marker in (
                f'\n  <option value="{escape(text)}">' for text in self.format_value(value)
            )
            if (at := options.find(marker)) >= 0
        ]
        if found:
            at, marker = min(found)
            options = f"{options[:at]}{marker[:-1]} selected>{options[at + len(marker) :]}"
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return mark_safe(  # noqa: S308 (names, values and labels are escaped above)
            f'<select name="{escape(name)}"{attributes}>{options}\n</select>'
        )


class FastCheckbox(forms.CheckboxInput):
    """A checkbox built in Python: the HTML of Django's own widget, without its templates."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{escape(str(widget["value"]))}"'
        return mark_safe(  # noqa: S308 (name, value and attributes are escaped)
            f'<input type="checkbox" name="{escape(name)}"{shown}{flatatt(widget["attrs"])}>'
        )


def _departments() -> QuerySet[Department]:
    return Department.objects.filter(active=True).order_by("code")


def department_choices(nodes: Sequence[DepartmentNode] | None = None) -> Choices:
    """Active departments as (id, label) in tree order, each indented under its parent: what
    a department list shows, without building 200 model instances (validation still goes
    through the field's queryset). ``nodes``: the tree when the caller has read it already."""
    return [(node.pk, node.label) for node in (department_nodes() if nodes is None else nodes)]


def _categories() -> QuerySet[Category]:
    return Category.objects.filter(active=True).order_by("code")


def category_choices() -> Choices:
    """Active categories by their Chinese name, none two alike (``tickets.categories``)."""
    return [(option.pk, option.label) for option in category_options(staff=True)]


def _offer(field: forms.Field, choices: Callable[[], Iterable[tuple[Any, str]]]) -> None:
    """Show ``choices()`` (after the field's empty label) in a model choice field's list."""
    empty = getattr(field, "empty_label", None)
    field.widget.choices = Options(  # type: ignore[attr-defined]
        lambda: [("", empty)] * (empty is not None) + list(choices())
    )


class DepartmentChoiceField(forms.ModelChoiceField):
    widget = FastSelect

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class HandlerChoiceField(forms.ModelChoiceField):
    widget = FastSelect

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


def handler_choices(department_ids: Iterable[int] | None = None) -> Choices:
    """(id, "name（department）") for every active handler and supervisor, as
    ``HandlerChoiceField`` labels them; only those in ``department_ids`` when given."""
    handlers = _handlers()
    if department_ids is not None:
        handlers = handlers.filter(staff_profile__department_id__in=list(department_ids))
    rows = handlers.values_list(
        "pk", "first_name", "last_name", "username", "staff_profile__department__name"
    )
    return [
        (pk, f"{f'{first} {last}'.strip() or username}（{department or ''}）")
        for pk, first, last, username, department in rows
    ]


def assignee_choices(department_id: int | None) -> Choices:
    """The handlers a case sent to ``department_id`` may go to: those of that department and
    of the departments below it (the rule ``ticket_assign`` enforces); none without one."""
    if department_id is None:
        return []
    within = subtree_ids(department_nodes(), department_id)
    return handler_choices(within) if within else []


# --- the queue -----------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    q = forms.CharField(label="搜索", required=False, max_length=100)
    state = forms.MultipleChoiceField(label="状态", required=False, choices=State.choices)
    channel = forms.ChoiceField(
        label="渠道",
        required=False,
        choices=lambda: [("", "全部渠道"), *channel_choices()],
        widget=FastSelect,
    )
    # Filters need only the id: checked against the lists shown, with no look-up query.
    department = forms.TypedChoiceField(
        label="部门", required=False, coerce=int, empty_value=None, widget=FastSelect
    )
    category = forms.TypedChoiceField(
        label="分类", required=False, coerce=int, empty_value=None, widget=FastSelect
    )
    request_type = forms.ChoiceField(
        label="诉求类型",
        required=False,
        choices=[("", "全部类型"), *RequestType.choices],
        widget=FastSelect,
    )
    overdue = forms.BooleanField(label="已超时", required=False, widget=FastCheckbox)
    supervised = forms.BooleanField(label="督办", required=False, widget=FastCheckbox)
    mine = forms.BooleanField(label="派给我的", required=False, widget=FastCheckbox)

    def __init__(
        self, *args: Any, departments: Sequence[DepartmentNode] | None = None, **kwargs: Any
    ) -> None:
        """``departments``: the page's department tree when another form shows it too."""
        super().__init__(*args, **kwargs)
        nodes: list[Sequence[DepartmentNode]] = [departments] if departments else []

        def tree() -> Sequence[DepartmentNode]:
            if not nodes:
                nodes.append(department_nodes())
            return nodes[0]

        self._tree = tree
        self.fields["department"].choices = Options(  # type: ignore[attr-defined]
            lambda: [("", "全部部门"), *department_choices(tree())]
        )
        self.fields["category"].choices = Options(  # type: ignore[attr-defined]
            lambda: [("", "全部分类"), *category_choices()]
        )

    def to_filter(self) -> QueueFilter:
        """The filter to apply; invalid parts are ignored rather than refused."""
        data = self.cleaned_data if self.is_valid() else {}
        department = data.get("department")
        return QueueFilter(
            states=list(data.get("state") or []),
            channel=data.get("channel") or "",
            # The picked department with everything below it (the tree the menu was checked
            # against: no further query).
            department_ids=subtree_ids(self._tree(), department) if department else [],
            category_id=data.get("category"),
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

    def __init__(
        self, *args: Any, case_no: str = "", department_id: int | None = None, **kwargs: Any
    ) -> None:
        """``department_id``: the department the menu starts on (or the category's default
        when the menu is left on it); the assignee list offers that department's handlers and
        is fetched again from ``/inbox/tickets/<case_no>/assignees/`` whenever it changes."""
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]
        self.fields["assignee"].queryset = _handlers()  # type: ignore[attr-defined]
        _offer(self.fields["department"], department_choices)
        _offer(self.fields["assignee"], lambda: assignee_choices(department_id))
        if case_no:
            self.fields["department"].widget.attrs.update(
                {
                    "hx-get": f"/inbox/tickets/{case_no}/assignees/",
                    "hx-trigger": "change",
                    "hx-target": "#id_assignee",
                    "hx-swap": "outerHTML",
                }
            )


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
        _offer(self.fields["department"], department_choices)


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


class LinkLeadForm(ActionForm):
    lead = forms.CharField(
        label="主案编号", max_length=14, error_messages={"required": "请填写主案的工单编号。"}
    )


class ClassifyForm(ActionForm):
    request_type = forms.ChoiceField(
        label="诉求类型", choices=RequestType.choices, widget=FastSelect
    )
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, widget=FastSelect)
    category = forms.ModelChoiceField(
        label="分类",
        queryset=Category.objects.none(),
        required=False,
        empty_label="（未分类）",
        widget=FastSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories()  # type: ignore[attr-defined]
        _offer(self.fields["category"], category_choices)


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
    decision = forms.ChoiceField(
        choices=[("approve", "批准"), ("reject", "驳回")], widget=FastSelect
    )
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
    "link_lead": LinkLeadForm,
    "unlink_lead": PlainActionForm,
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
        queryset=Department.objects.none(),
        required=False,
        empty_label="（按分类的默认部门）",
        widget=FastSelect(attrs={"aria-label": "批量派单的承办部门"}),
    )
    into = forms.CharField(max_length=14, required=False)

    def __init__(
        self, *args: Any, departments: Sequence[DepartmentNode] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]
        _offer(self.fields["department"], lambda: department_choices(departments or None))

    def clean_pick(self) -> list[tuple[int, int | None]]:
        picked = []
        for value in self.data.getlist("pick") if hasattr(self.data, "getlist") else []:
            ticket_id, _, version = str(value).partition(":")
            number = id_or_none(ticket_id)
            if number is None:
                raise forms.ValidationError("勾选的工单无效。")
            picked.append((number, id_or_none(version)))
        if not picked:
            raise forms.ValidationError("请先勾选工单。")
        return picked

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "merge_into" and not (data.get("into") or "").strip():
            self.add_error("into", "请填写合并到的工单编号。")
        return data
