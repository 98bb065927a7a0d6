"""Who may see which dashboard figures and reports (read-only pages)."""

from __future__ import annotations

from typing import Any

from tickets.models import Department, Role
from tickets.selectors import user_department_ids, user_role

CITYWIDE_VIEWERS = frozenset({Role.LEADERSHIP, Role.ADMIN, Role.DISPATCHER})
DEPARTMENT_VIEWERS = frozenset({Role.HANDLER, Role.SUPERVISOR})
REPORT_EDITORS = frozenset({Role.LEADERSHIP, Role.ADMIN})


class NoAccess(Exception):
    """The user may not see dashboards at all."""


def access_dashboard(user: Any) -> set[int] | None:
    """Departments whose figures the user may see: None for the whole city (leadership,
    administrators, dispatchers); a department subtree for handlers and supervisors."""
    role = user_role(user)
    if role in CITYWIDE_VIEWERS:
        return None
    if role in DEPARTMENT_VIEWERS:
        departments = user_department_ids(user)
        if departments:
            return departments
    raise NoAccess()


def may_read_reports(user: Any) -> bool:
    """The monthly report covers every department: citywide viewers only."""
    return user_role(user) in CITYWIDE_VIEWERS


def may_regenerate_reports(user: Any) -> bool:
    return user_role(user) in REPORT_EDITORS


def scope_for(allowed: set[int] | None, department_id: int | None) -> set[int] | None:
    """Narrow the allowed departments to the picked one (and what is below it); a pick
    outside what the user may see is ignored."""
    if department_id is None:
        return allowed
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        return allowed
    subtree = department.subtree_ids()
    if allowed is None:
        return subtree
    narrowed = subtree & allowed
    return narrowed or allowed


def department_choices(allowed: set[int] | None) -> list[Department]:
    queryset = Department.objects.filter(active=True).order_by("code")
    if allowed is not None:
        queryset = queryset.filter(pk__in=allowed)
    return list(queryset)
