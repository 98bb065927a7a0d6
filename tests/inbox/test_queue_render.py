"""How the queue page is put together: lists of departments and categories, the rows' markup
(built in Python, not through the template engine) and their escaping."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from tests.conftest import walk
from tickets.forms import (
    FastCheckbox,
    FastSelect,
    HandlerChoiceField,
    _handlers,
    handler_choices,
)
from tickets.models import Department, Ticket


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match.group(0)


def select(body: str, select_id: str) -> str:
    return found(rf'<select [^>]*id="{select_id}".*?</select>', body)


def row(body: str, ticket: Ticket) -> str:
    return found(rf'<tr id="ticket-{ticket.pk}".*?</tr>', body)


def options(html: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option, in order."""
    return [
        (value, label, bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>(.*?)</option>', html
        )
    ]


def test_it_lists_the_current_departments_in_the_filter_and_bulk_menus(
    client_for: Any, departments: dict[str, Department], cast: dict[str, Any]
) -> None:
    client = client_for("dispatcher")
    body = client.get("/inbox/").content.decode()
    for menu in (select(body, "id_department"), select(body, "bulk_department")):
        # As a tree: each department under its parent, indented by depth.
        assert [label for _, label, _ in options(menu)][1:] == [
            "青山区",
            "\u3000└ 城管局",
            "\u3000\u3000└ 市容科",
            "\u3000└ 住建局",
            "\u3000\u3000└ 物业科",
        ]
    # A renamed, an added and a retired department show on the very next page.
    Department.objects.filter(pk=departments["a"].pk).update(name="城市管理局")
    Department.objects.create(code="c", name="水务局", level="bureau")
    Department.objects.filter(pk=departments["b1"].pk).update(active=False)
    body = client.get("/inbox/").content.decode()
    for menu in (select(body, "id_department"), select(body, "bulk_department")):
        labels = [label for _, label, _ in options(menu)]
        assert "\u3000└ 城市管理局" in labels and "水务局" in labels
        assert all("城管局" not in label and "物业科" not in label for label in labels)


def test_it_marks_the_filtered_department_and_category_and_labels_the_bulk_menu(
    client_for: Any, departments: dict[str, Department], categories: Any, cast: dict[str, Any]
) -> None:
    department, category = departments["b"], categories["lights"]
    body = (
        client_for("dispatcher")
        .get(f"/inbox/?department={department.pk}&category={category.pk}&overdue=on")
        .content.decode()
    )
    assert [
        (value, selected)
        for value, _, selected in options(select(body, "id_department"))
        if selected
    ] == [(str(department.pk), True)]
    assert [value for value, _, selected in options(select(body, "id_category")) if selected] == [
        str(category.pk)
    ]
    bulk = select(body, "bulk_department")
    assert [value for value, _, selected in options(bulk) if selected] == [""]
    assert 'aria-label="批量派单的承办部门"' in bulk and 'name="department"' in bulk
    assert re.search(r'<input type="checkbox" name="overdue" id="id_overdue" checked>', body)
    assert re.search(r'<input type="checkbox" name="mine" id="id_mine">', body)


def test_it_ignores_a_department_that_is_not_in_the_list(
    client_for: Any, make_ticket: Any, departments: dict[str, Department], cast: dict[str, Any]
) -> None:
    ticket = make_ticket()
    body = client_for("dispatcher").get("/inbox/?department=999999").content.decode()
    assert ticket.case_no in body  # an invalid filter is ignored rather than refused
    assert 'aria-invalid="true"' in select(body, "id_department")


def test_it_escapes_what_citizens_and_administrators_typed(
    client_for: Any, make_ticket: Any, departments: dict[str, Department], cast: dict[str, Any]
) -> None:
    Department.objects.filter(pk=departments["a"].pk).update(name='城管<b>局</b> & "科"')
    ticket = walk(
        make_ticket(title='<script>alert("x")</script>路灯'), cast, departments, "assigned"
    )
    body = client_for("dispatcher").get("/inbox/").content.decode()
    assert "<script>alert" not in body and "<b>局</b>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;路灯" in body
    assert "城管&lt;b&gt;局&lt;/b&gt; &amp; &quot;科&quot;" in select(body, "id_department")
    shown = row(body, ticket)
    assert "城管&lt;b&gt;局&lt;/b&gt; &amp; &quot;科&quot;" in shown


def test_it_shows_the_same_row_on_the_page_alone_and_in_the_catch_up(
    client_for: Any, make_ticket: Any, departments: dict[str, Department], cast: dict[str, Any]
) -> None:
    untitled = make_ticket()
    Ticket.objects.filter(pk=untitled.pk).update(
        title="",
        supervised=True,
        urgency="urgent",
        ack_due_at=timezone.now() - dt.timedelta(minutes=3),
    )
    handled = walk(make_ticket(title="井盖缺失"), cast, departments, "in_progress")
    client = client_for("dispatcher")
    page = client.get("/inbox/").content.decode()
    caught_up = {
        item["id"]: item["html"]
        for item in client.get("/inbox/changes/", {"since": 0}).json()["rows"]
    }
    for ticket in (untitled, handled):
        on_page = row(page, ticket)
        alone = client.get(f"/inbox/rows/{ticket.pk}/").content.decode()
        # A single row and a caught-up row are marked fresh; otherwise the markup is the same.
        assert alone.replace(" fresh", "") == on_page
        assert caught_up[ticket.pk].replace(" fresh", "") == on_page
        assert 'class="ticket-row' in alone and " fresh" in alone
    untitled_row = row(page, untitled)
    assert "（无标题）" in untitled_row and "level-breached" in untitled_row
    assert 'title="督办"' in untitled_row and "tag-amber" in untitled_row
    assert '<td data-label="分类">—</td>' in untitled_row
    assert f'aria-label="勾选 {untitled.case_no}"' in untitled_row
    handled_row = row(page, handled)
    assert '<small class="muted">handler_a</small>' in handled_row  # the assignee
    assert "办理中" in handled_row and 'data-clock="办结"' in handled_row
    local = timezone.localtime(Ticket.objects.get(pk=handled.pk).resolve_due_at)
    assert f'data-due="{local.isoformat()}"' in handled_row
    assert f"办结 {local:%m-%d %H:%M}</span>" in handled_row


def test_it_leaves_the_pick_boxes_out_for_those_who_may_not_act_in_bulk(
    client_for: Any, make_ticket: Any, departments: dict[str, Department], cast: dict[str, Any]
) -> None:
    ticket = walk(make_ticket(), cast, departments, "assigned")
    body = client_for("leadership").get("/inbox/").content.decode()
    assert f'id="ticket-{ticket.pk}"' in body
    assert 'name="pick"' not in body and "bulk_department" not in body


def normalized(html: str) -> str:
    return re.sub(r"\n\s*\n", "\n", str(html))


def test_it_renders_a_select_as_djangos_own_widget_does() -> None:
    cases: list[tuple[list[tuple[Any, Any]], Any, dict[str, Any]]] = [
        ([("", "全部"), (1, "甲"), (2, "乙 & <丙>")], 2, {"id": "id_x"}),
        ([("", "全部"), (1, "甲")], None, {"id": "id_x", "required": True}),
        ([("a", gettext_lazy("网站")), ("b", mark_safe("<i>b</i>"))], "b", {}),
        ([(1, "甲"), (1, "甲again")], "1", {"aria-invalid": "true"}),  # first match only
        ([(1, "甲")], "9", {"disabled": True}),  # nothing selected
    ]
    for choices, value, attrs in cases:
        ours = FastSelect(choices=choices).render("x", value, attrs=attrs)
        django = forms.Select(choices=choices).render("x", value, attrs=attrs)
        assert normalized(ours) == normalized(django), (choices, value)
    for value in (True, False, None, "on"):
        ours = FastCheckbox().render("overdue", value, attrs={"id": "id_overdue"})
        django = forms.CheckboxInput().render("overdue", value, attrs={"id": "id_overdue"})
        assert ours == django, value


def test_it_labels_handlers_as_the_handler_field_does(cast: dict[str, Any]) -> None:
    field = HandlerChoiceField(queryset=_handlers())
    assert handler_choices() == [(user.pk, field.label_from_instance(user)) for user in _handlers()]
    assert handler_choices()  # the cast has handlers and supervisors
