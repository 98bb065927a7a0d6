"""Workload: what each department and each handler has on their desk right now.

Three numbers per row, all about now (not about a period):

- 在办 (open): tickets not yet replied or closed (待受理 … 待补充) — of the department
  responsible now, or assigned to the handler;
- 超时 (overdue): of those, the ones past a running deadline, as on the dashboard's
  当前超时 card (``metrics.breaches_current``: not acknowledged within 30 minutes, or not
  replied by the resolution deadline while its clock runs; a paused 待补充 ticket is not);
- 本周答复 (replied this week): tickets replied since Monday 00:00 (Asia/Shanghai), counted
  once per ticket, by the department that replied (``Reply.department``, stamped at the time)
  or by the handler who wrote the reply.

A fixed number of aggregate queries, whatever the number of departments and staff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from dashboards.access import Viewer, viewer_scope
from dashboards.metrics import UNASSIGNED
from dashboards.values import CHINA
from tickets.models import (
    OPEN_STATES,
    RESOLUTION_CLOCK_STATES,
    Department,
    Reply,
    Role,
    StaffProfile,
    State,
    Ticket,
)

STAFF_ROLES = (Role.HANDLER, Role.SUPERVISOR)


@dataclass
class Load:
    key: int | None  # the department's or the user's id (None: 未派单 or the total)
    label: str
    open: int = 0
    overdue: int = 0
    replied_week: int = 0
    department: str = ""  # a handler's department


def week_start(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 of the current week, Asia/Shanghai."""
    local = now.astimezone(CHINA)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(0), tzinfo=CHINA)


def _overdue(now: dt.datetime) -> Q:
    return Q(state=State.NEW, ack_due_at__lt=now) | Q(
        state__in=RESOLUTION_CLOCK_STATES, resolve_due_at__lt=now
    )


def _open_counts(tickets: QuerySet[Ticket], by: str, now: dt.datetime) -> dict[Any, Load]:
    rows = (
        tickets.filter(state__in=OPEN_STATES)
        .order_by()
        .values(by)
        .annotate(open=Count("pk"), overdue=Count("pk", filter=_overdue(now)))
    )
    return {row[by]: Load(row[by], "", row["open"], row["overdue"]) for row in rows}


def _replied(replies: QuerySet[Reply], by: str) -> dict[Any, int]:
    rows = replies.order_by().values(by).annotate(n=Count("ticket", distinct=True))
    return {row[by]: row["n"] for row in rows}


def workload_build(
    *, viewer: Viewer, department_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    """The workload rows one viewer may see (``access.DepartmentRefused`` for a department
    outside their scope): a total, one row per department (not for a handler, who sees only
    their department's total) and one per member of staff (a handler: only themselves)."""
    scope = viewer_scope(viewer, department_id)
    since = week_start(now)
    tickets = Ticket.objects.all()
    replies = Reply.objects.filter(created_at__gte=since, created_at__lte=now)
    departments = Department.objects.filter(active=True).order_by("code")
    staff = StaffProfile.objects.filter(role__in=STAFF_ROLES, user__is_active=True)
    if scope is not None:
        tickets = tickets.filter(department_id__in=scope)
        replies = replies.filter(department_id__in=scope)
        departments = departments.filter(pk__in=scope)
        staff = staff.filter(department_id__in=scope)
    if not viewer.sees_colleagues:
        staff = staff.filter(user_id=viewer.user_id)

    opened = tickets.filter(state__in=OPEN_STATES)
    total = Load(
        None,
        "合计",
        opened.count(),
        opened.filter(_overdue(now)).count(),
        replies.aggregate(n=Count("ticket", distinct=True))["n"],
    )
    department_rows: list[Load] = []
    if viewer.sees_colleagues:
        loads = _open_counts(tickets, "department_id", now)
        replied = _replied(replies, "department_id")
        for department in departments:
            load = loads.get(department.pk) or Load(department.pk, "")
            load.label, load.replied_week = department.name, replied.get(department.pk, 0)
            department_rows.append(load)
        if scope is None and None in loads:  # not yet dispatched: the dispatchers' desk
            waiting = loads[None]
            waiting.label = f"{UNASSIGNED}（待派单）"
            department_rows.append(waiting)
        department_rows.sort(key=lambda row: (row.key is None, -row.overdue, -row.open))

    people = list(staff.select_related("user", "department"))
    user_ids = [profile.user_id for profile in people]
    mine = _open_counts(Ticket.objects.filter(assignee_id__in=user_ids), "assignee_id", now)
    written = _replied(
        Reply.objects.filter(created_at__gte=since, created_at__lte=now, author_id__in=user_ids),
        "author_id",
    )
    handler_rows = []
    for profile in people:
        load = mine.get(profile.user_id) or Load(profile.user_id, "")
        load.label = profile.user.get_full_name() or profile.user.get_username()
        load.department = profile.department.name if profile.department else ""
        load.replied_week = written.get(profile.user_id, 0)
        handler_rows.append(load)
    handler_rows.sort(key=lambda row: (-row.overdue, -row.open, row.department, row.label))
    return {
        "total": total,
        "departments": department_rows,
        "handlers": handler_rows,
        "week_start": since,
        "now": now.astimezone(CHINA),
    }
