"""Categories as people pick them from a list: sorted by their Chinese name, each shown once.

Catalogues imported from a province often repeat a name under several parents (其他, 投诉建议),
and an administrator may add a category twice. In a flat list such entries look alike, so:
- a name that more than one active category bears is shown with its parent (交通 / 其他);
- categories that still look alike (same name and parent) are one entry for the public (the
  website form, the public filter: it stands for all of them), and for staff, who must be able
  to tell them apart to fix them, each is shown with its code.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from tickets.models import Category


@dataclass(frozen=True)
class CategoryRow:
    pk: int
    code: str
    name: str
    parent: str  # the parent's name, "" at the top


@dataclass(frozen=True)
class CategoryOption:
    pk: int
    code: str
    label: str
    codes: tuple[str, ...]  # every category this entry stands for


def category_options_from(rows: Iterable[CategoryRow], *, staff: bool) -> list[CategoryOption]:
    """The entries for ``rows`` (already in the order to show), with no two alike."""
    rows = list(rows)
    names = Counter(row.name for row in rows)
    labelled = [
        (row, f"{row.parent} / {row.name}" if names[row.name] > 1 and row.parent else row.name)
        for row in rows
    ]
    alike: dict[str, list[CategoryRow]] = defaultdict(list)
    for row, label in labelled:
        alike[label].append(row)
    options: list[CategoryOption] = []
    for row, label in labelled:
        twins = alike[label]
        if len(twins) == 1:
            options.append(CategoryOption(row.pk, row.code, label, (row.code,)))
        elif staff:
            options.append(CategoryOption(row.pk, row.code, f"{label}（{row.code}）", (row.code,)))
        elif row is twins[0]:
            codes = tuple(twin.code for twin in twins)
            options.append(CategoryOption(row.pk, row.code, label, codes))
    return options


def category_rows() -> list[CategoryRow]:
    """Active categories by their Chinese name (pinyin), then their parent's, then code."""
    rows = (
        Category.objects.filter(active=True)
        .order_by("name_sort", "name", "parent__name_sort", "code")
        .values_list("pk", "code", "name", "parent__name")
    )
    return [CategoryRow(pk, code, name, parent or "") for pk, code, name, parent in rows]


def category_options(*, staff: bool) -> list[CategoryOption]:
    return category_options_from(category_rows(), staff=staff)


def category_codes_alike(code: str) -> list[str]:
    """The codes the public entry for ``code`` stands for (``[code]`` when it has no twin)."""
    for option in category_options(staff=False):
        if code in option.codes:
            return list(option.codes)
    return [code]
