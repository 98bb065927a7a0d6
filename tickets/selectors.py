"""Every read of tickets goes through here, with the reader's permissions applied."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from tickets.errors import TicketNotFound
from tickets.models import Department, Role, Ticket
from tickets.permissions import role_sees_all


def user_role(user: Any) -> str | None:
    """The user's role, or None for anyone who is not staff of Minsheng."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "staff_profile", None)
    return profile.role if profile is not None else None


def user_department_ids(user: Any) -> set[int] | None:
    """Departments whose tickets the user sees: None means all of them."""
    role = user_role(user)
    if role is None:
        return set()
    if role_sees_all(role):
        return None
    department: Department | None = user.staff_profile.department
    return department.subtree_ids() if department is not None else set()


def ticket_visible_q(user: Any) -> Q:
    departments = user_department_ids(user)
    if departments is None:
        return Q()
    if not departments:
        return Q(pk__in=[])
    return Q(department_id__in=departments) | Q(assignee_id=user.pk)


def ticket_list_for_user(
    *,
    user: Any,
    state: list[str] | None = None,
    department_id: int | None = None,
    channel: str | None = None,
    overdue: bool | None = None,
    now: dt.datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> QuerySet[Ticket]:
    """Tickets the user may see, newest first, with keyset pagination on ``id``."""
    queryset = (
        Ticket.objects.filter(ticket_visible_q(user))
        .select_related("category", "department", "assignee", "citizen")
        .order_by("-id")
    )
    if state:
        queryset = queryset.filter(state__in=state)
    if department_id is not None:
        queryset = queryset.filter(department_id=department_id)
    if channel:
        queryset = queryset.filter(channel=channel)
    if overdue is not None and now is not None:
        overdue_q = Q(state="new", ack_due_at__lt=now) | Q(
            state__in=["acknowledged", "assigned", "in_progress", "waiting_citizen"],
            resolve_due_at__lt=now,
        )
        queryset = queryset.filter(overdue_q) if overdue else queryset.exclude(overdue_q)
    if after_id is not None:
        queryset = queryset.filter(id__lt=after_id)
    return queryset[:limit]


def ticket_access(*, user: Any, ticket_id: int | None = None, case_no: str | None = None) -> Ticket:
    """The ticket, if the user may see it; otherwise TicketNotFound (a 404, never a 403)."""
    lookup = Q(pk=ticket_id) if ticket_id is not None else Q(case_no=case_no)
    ticket = (
        Ticket.objects.filter(lookup, ticket_visible_q(user))
        .select_related("category", "department", "assignee", "citizen", "duplicate_of")
        .first()
    )
    if ticket is None:
        raise TicketNotFound()
    return ticket
