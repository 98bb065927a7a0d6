"""The organisation as the inbox shows it: departments in tree order, indented by depth.

``department_tree`` is pure (rows in, nodes out); ``department_nodes`` reads the active
departments in one query. Every department menu of the inbox (filter, assign, transfer, bulk)
lists these nodes, and the queue's department filter covers the picked node's subtree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from tickets.models import Department

INDENT = "\u3000"  # an ideographic space: kept by browsers in an <option>, unlike ASCII ones


class DepartmentNode(NamedTuple):
    pk: int
    name: str
    depth: int
    path: tuple[int, ...]  # the ids from the root down to this node, itself included

    @property
    def label(self) -> str:
        """The name as a menu shows it: indented by depth, under its parent."""
        return f"{INDENT * self.depth}└ {self.name}" if self.depth else self.name


def department_tree(rows: Iterable[tuple[int, int | None, str, str]]) -> list[DepartmentNode]:
    """(id, parent id, code, name) rows in tree order: each node followed by its children,
    siblings by code. A node whose parent is not among the rows (inactive) is a root."""
    rows = sorted(rows, key=lambda row: row[2])
    known = {row[0] for row in rows}
    children: dict[int | None, list[tuple[int, str]]] = {}
    for pk, parent, _, name in rows:
        children.setdefault(parent if parent in known else None, []).append((pk, name))
    nodes: list[DepartmentNode] = []
    # Depth-first without recursion (a deep tree cannot exhaust the stack); a cycle in bad
    # data is cut where it closes.
    stack: list[tuple[int, str, tuple[int, ...]]] = [
        (pk, name, ()) for pk, name in reversed(children.get(None, []))
    ]
    seen: set[int] = set()
    while stack:
        pk, name, above = stack.pop()
        if pk in seen:
            continue
        seen.add(pk)
        path = (*above, pk)
        nodes.append(DepartmentNode(pk, name, len(above), path))
        stack.extend(
            (child, child_name, path) for child, child_name in reversed(children.get(pk, []))
        )
    return nodes


def department_nodes() -> list[DepartmentNode]:
    """The active departments in tree order (one query)."""
    rows = Department.objects.filter(active=True).values_list("pk", "parent_id", "code", "name")
    return department_tree(rows)


def subtree_ids(nodes: Sequence[DepartmentNode], pk: int) -> list[int]:
    """``pk`` and every node below it, from already-read nodes (no query)."""
    return [node.pk for node in nodes if pk in node.path]
