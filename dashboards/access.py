"""Who may see which dashboard figures, workload rows and reports (read-only pages).

| role | dashboard of | other departments | workload rows | monthly reports |
|---|---|---|---|---|
| leadership, administrator | the whole city | any | every department and handler | read (and order) |
| dispatcher | the whole city | any | every department and handler | read |
| supervisor | their department and those below it | those below it | those departments and their staff | no |
| handler | their department (the cases their inbox shows) | none | their department's total and their own | no |

Anyone else (no staff role, or a handler or supervisor without a department) sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickets.models import Department, Role
from tickets.selectors import user_department_ids, user_role

CITYWIDE_VIEWERS = frozenset({Role.LEADERSHIP, Role.ADMIN, Role.DISPATCHER})
DEPARTMENT_VIEWERS = frozenset({Role.HANDLER, Role.SUPERVISOR})
REPORT_EDITORS = frozenset({Role.LEADERSHIP, Role.ADMIN})


class NoAccess(Exception):
    """The user may not see dashboards at all."""


class DepartmentRefused(NoAccess):
    """The user asked for a department whose figures they may not see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """What one user may see on the dashboards."""

    user_id: int
    role: str
    departments: frozenset[int] | None  # None: the whole city
    department_id: int | None  # their own department (handlers and supervisors)
    department_name: str
    may_pick: bool  # may open the dashboard of another department within ``departments``

    @property
    def citywide(self) -> bool:
        return self.departments is None

    @property
    def sees_colleagues(self) -> bool:
        """Workload rows of other staff: everyone but a handler."""
        return self.role != Role.HANDLER


def viewer_for(user: Any) -> Viewer:
    """The viewer's scope; ``NoAccess`` for people who may not see dashboards."""
    role = user_role(user)
    if role in CITYWIDE_VIEWERS:
        return Viewer(user.pk, str(role), None, None, "", True)
    if role in DEPARTMENT_VIEWERS:
        departments = user_department_ids(user)
        department = user.staff_profile.department
        if departments and department is not None:
            return Viewer(
                user.pk,
                str(role),
                frozenset(departments),
                department.pk,
                department.name,
                role == Role.SUPERVISOR,
            )
    raise NoAccess()


def access_dashboard(user: Any) -> set[int] | None:
    """Departments whose figures the user may see: None for the whole city (leadership,
    administrators, dispatchers); a department subtree for handlers and supervisors."""
    departments = viewer_for(user).departments
    return set(departments) if departments is not None else None


def viewer_scope(viewer: Viewer, department_id: int | None) -> set[int] | None:
    """The departments of one dashboard: the viewer's whole scope, or the picked department
    and those below it. A pick outside the scope (for a handler: any other department) is
    refused with ``DepartmentRefused``; a department that does not exist is ignored (the
    pickers say so)."""
    allowed = set(viewer.departments) if viewer.departments is not None else None
    if department_id is None or department_id == viewer.department_id:
        return allowed
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        return allowed
    if not viewer.may_pick:
        raise DepartmentRefused(f"您只能查看本部门（{viewer.department_name}）的看板。")
    subtree = department.subtree_ids()
    if allowed is None:
        return subtree
    if department_id not in allowed:
        raise DepartmentRefused(f"您只能查看本部门（{viewer.department_name}）及下级部门的看板。")
    return subtree & allowed


def may_read_reports(user: Any) -> bool:
    """The monthly report covers every department: citywide viewers only."""
    return user_role(user) in CITYWIDE_VIEWERS


def may_regenerate_reports(user: Any) -> bool:
    return user_role(user) in REPORT_EDITORS


def department_choices(viewer: Viewer) -> list[Department]:
    """The departments the viewer may pick (none for a handler: one department only)."""
    if not viewer.may_pick:
        return []
    queryset = Department.objects.filter(active=True).order_by("code")
    if viewer.departments is not None:
        queryset = queryset.filter(pk__in=viewer.departments)
    return list(queryset)
