"""Reads of hot issues: the dispatcher's 热点 panel, the leadership dashboard's top issues of
the week, and a ticket's lead-case links. Every read applies the viewer's department scope
and the tickets' current states (the snapshot may be a few minutes old)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Max, Min, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from tickets.hotspots.services import MAX_PER_CLICK
from tickets.models import (
    OPEN_STATES,
    CaseLink,
    HotIssue,
    HotIssueMember,
    HotspotRun,
    State,
    Ticket,
)
from tickets.permissions import role_may
from tickets.selectors import ticket_visible_q, user_role

# Issues looked at for the panel (the biggest first).
PANEL_CANDIDATES = 30
MEMBER_FIELDS = (
    "pk",
    "case_no",
    "title",
    "content",
    "state",
    "version",
    "received_at",
    "department_id",
    "department__name",
    "channel",
)


@dataclass
class Member:
    pk: int
    case_no: str
    title: str
    state: str
    version: int
    received_at: dt.datetime
    department: str

    @property
    def state_label(self) -> str:
        return str(State(self.state).label)


@dataclass
class PanelIssue:
    issue: HotIssue
    lead: Member
    pending: list[Member]  # open, not merged or linked yet: what one click acts on
    handled: int  # merged into or linked under the lead already
    total: int

    @property
    def picks(self) -> str:
        return " ".join(f"{m.pk}:{m.version}" for m in self.pending)


@dataclass
class Panel:
    run: HotspotRun | None
    issues: list[PanelIssue] = field(default_factory=list)
    may_act: bool = False


def hotspot_run_latest() -> HotspotRun | None:
    return HotspotRun.objects.order_by("-computed_at", "-pk").first()


def _member(row: dict[str, Any], prefix: str = "ticket__") -> Member:
    return Member(
        pk=row[f"{prefix}pk"],
        case_no=row[f"{prefix}case_no"],
        title=row[f"{prefix}title"] or (row[f"{prefix}content"] or "")[:40],
        state=row[f"{prefix}state"],
        version=row[f"{prefix}version"],
        received_at=row[f"{prefix}received_at"],
        department=row[f"{prefix}department__name"] or "",
    )


def _visible_members(issue_ids: list[int], visible: Q) -> QuerySet[HotIssueMember]:
    return HotIssueMember.objects.filter(
        issue_id__in=issue_ids, ticket__in=Ticket.objects.filter(visible).values("pk")
    )


def _pending(issue_ids: list[int], visible: Q) -> dict[int, list[Member]]:
    """Per issue, the first ``MAX_PER_CLICK`` open tickets not yet linked under a lead (a
    window function keeps a cluster of thousands from being read whole)."""
    rows = (
        _visible_members(issue_ids, visible)
        .filter(ticket__state__in=list(OPEN_STATES), ticket__lead_link__isnull=True)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("issue_id")],
                order_by=[F("ticket__received_at").asc(), F("ticket_id").asc()],
            )
        )
        .filter(position__lte=MAX_PER_CLICK + 1)
        .values("issue_id", *(f"ticket__{name}" for name in MEMBER_FIELDS))
    )
    found: dict[int, list[Member]] = {}
    for row in rows:
        found.setdefault(row["issue_id"], []).append(_member(row))
    for members in found.values():
        members.sort(key=lambda m: (m.received_at, m.pk))
    return found


def _counts(issue_ids: list[int], visible: Q) -> dict[int, dict[str, Any]]:
    """Per issue: visible reports, open ones, merged or linked ones, first and last."""
    rows = (
        _visible_members(issue_ids, visible)
        .values("issue_id")
        .annotate(
            reports=Count("pk"),
            open=Count("pk", filter=Q(ticket__state__in=list(OPEN_STATES))),
            handled=Count(
                "pk", filter=Q(ticket__state=State.MERGED) | Q(ticket__lead_link__isnull=False)
            ),
            first_at=Min("ticket__received_at"),
            last_at=Max("ticket__received_at"),
        )
    )
    return {row["issue_id"]: row for row in rows}


def _leads(issues: list[HotIssue], visible: Q) -> dict[int, Member]:
    rows = Ticket.objects.filter(visible, pk__in=[i.lead_id for i in issues if i.lead_id]).values(
        *MEMBER_FIELDS
    )
    return {row["pk"]: _member(row, prefix="") for row in rows}


def hot_issues_for_inbox(*, user: Any, limit: int = 5) -> Panel:
    """The 热点 panel: hot issues that still have open tickets to gather under their lead."""
    role = user_role(user)
    may_act = (
        role is not None
        and role_may(role, "merge_into", own_department=True)
        and role_may(role, "link_lead", own_department=True)
    )
    if not may_act:
        return Panel(run=None, may_act=False)
    run = hotspot_run_latest()
    panel = Panel(run=run, may_act=True)
    if run is None:
        return panel
    visible = ticket_visible_q(user)
    issues = list(run.issues.order_by("-size", "-last_at", "pk")[:PANEL_CANDIDATES])
    ids = [issue.pk for issue in issues]
    pending, counts, leads = _pending(ids, visible), _counts(ids, visible), _leads(issues, visible)
    for issue in issues:
        waiting = pending.get(issue.pk, [])
        lead = leads.get(issue.lead_id or 0)
        if lead is None or lead.state in (State.MERGED, State.INVALID):
            lead = waiting[0] if waiting else None  # the suggested lead was merged away
        waiting = [m for m in waiting if lead is not None and m.pk != lead.pk][:MAX_PER_CLICK]
        if lead is None or not waiting:
            continue
        count = counts.get(issue.pk, {})
        panel.issues.append(
            PanelIssue(
                issue=issue,
                lead=lead,
                pending=waiting,
                handled=int(count.get("handled", 0)),
                total=int(count.get("reports", len(waiting))),
            )
        )
        if len(panel.issues) == limit:
            break
    return panel


@dataclass
class WeekIssue:
    label: str
    area: str
    reports: int
    open: int
    first_at: dt.datetime
    last_at: dt.datetime
    lead_case_no: str
    departments: str


def _departments(issue_ids: list[int], visible: Q) -> dict[int, str]:
    rows = (
        _visible_members(issue_ids, visible)
        .exclude(ticket__department__isnull=True)
        .values("issue_id", "ticket__department__name")
        .annotate(n=Count("pk"))
        .order_by("issue_id", "-n", "ticket__department__name")
    )
    names: dict[int, list[str]] = {}
    for row in rows:
        names.setdefault(row["issue_id"], []).append(row["ticket__department__name"])
    return {issue: "、".join(found[:2]) for issue, found in names.items()}


def hot_issues_of_week(
    *, departments: set[int] | None, limit: int = 10
) -> tuple[HotspotRun | None, list[WeekIssue]]:
    """The week's top issues for the leadership dashboard: the most reported first, counted
    within the viewer's departments (None: the whole city)."""
    run = hotspot_run_latest()
    if run is None:
        return None, []
    visible = Q() if departments is None else Q(department_id__in=departments)
    issues = list(
        run.issues.select_related("lead").order_by("-size", "-last_at", "pk")[: limit * 3]
    )
    ids = [issue.pk for issue in issues]
    counts, names = _counts(ids, visible), _departments(ids, visible)
    found: list[WeekIssue] = []
    for issue in issues:
        count = counts.get(issue.pk)
        if count is None or count["reports"] < 2:
            continue
        found.append(
            WeekIssue(
                label=issue.label,
                area=issue.area,
                reports=int(count["reports"]),
                open=int(count["open"]),
                first_at=count["first_at"],
                last_at=count["last_at"],
                lead_case_no=issue.lead.case_no if issue.lead is not None else "",
                departments=names.get(issue.pk, ""),
            )
        )
    found.sort(key=lambda item: (-item.reports, -item.last_at.timestamp()))
    return run, found[:limit]


@dataclass
class Links:
    lead: Ticket | None
    linked: list[Ticket]


def ticket_links(*, ticket: Ticket, user: Any) -> Links:
    """The lead case this ticket is handled under, and the cases linked under it (only those
    the viewer may see)."""
    visible = ticket_visible_q(user)
    link = CaseLink.objects.filter(ticket=ticket).select_related("lead").first()
    lead = None
    if link is not None:
        lead = Ticket.objects.filter(visible, pk=link.lead_id).first()
    linked = list(
        Ticket.objects.filter(visible, lead_link__lead=ticket).order_by("received_at", "pk")
    )
    return Links(lead=lead, linked=linked)
