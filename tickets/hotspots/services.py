"""Writes for hot issues: recomputing the snapshot (a periodic job), and the dispatcher's one
click that merges a hot issue's open tickets into its lead case or links them under it.

Merging goes through ``ticket_merge`` and linking through ``ticket_link_lead``, ticket by
ticket, each in its own transaction with the version the dispatcher saw: a ticket that
changed meanwhile is refused with the usual conflict message and the others still go through.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tickets.errors import InvalidInput, TicketError, TransitionNotAllowed
from tickets.hotspots.cluster import Cluster, Doc, Settings, clusters_find
from tickets.models import (
    OPEN_STATES,
    CaseLink,
    HotIssue,
    HotIssueMember,
    HotspotRun,
    State,
    Ticket,
)
from tickets.services.events import event_append
from tickets.services.runner import _check_actor, _run, _state_label
from tickets.services.workflow import ticket_merge

WINDOW = dt.timedelta(days=7)
# The newest tickets of the window that are clustered; older ones of the window beyond this
# are left out. The cost grows faster than linearly: 5,000 distinct tickets take ~10 s,
# 10,000 ~26 s, 20,000 ~70 s of one core here, and the job runs every five minutes.
MAX_TICKETS = 10_000
# A hot issue is at least this many reports of one problem.
MIN_SIZE = 3
# One click acts on at most this many tickets (a second click takes the rest).
MAX_PER_CLICK = 50
ADVANCED = (State.ASSIGNED, State.IN_PROGRESS, State.WAITING_CITIZEN, State.REPLIED, State.CLOSED)


@dataclass
class RefreshResult:
    tickets: int = 0
    issues: int = 0
    took_ms: int = 0

    def summary(self) -> str:
        return f"{self.issues} 个热点，{self.tickets} 件工单，用时 {self.took_ms} 毫秒"


def _docs(start: dt.datetime, now: dt.datetime) -> list[Doc]:
    """The window's tickets as documents (merged duplicates join their case afterwards)."""
    rows = (
        Ticket.objects.filter(received_at__gte=start, received_at__lte=now)
        .exclude(state__in=[State.INVALID, State.MERGED])
        .order_by("-received_at", "-id")
        .values("pk", "title", "content", "address", "latitude", "longitude", "received_at")
    )
    return [
        Doc(
            key=row["pk"],
            text=f"{row['title']} {row['content']}".strip(),
            at=row["received_at"],
            address=row["address"] or "",
            lat=float(row["latitude"]) if row["latitude"] is not None else None,
            lon=float(row["longitude"]) if row["longitude"] is not None else None,
        )
        for row in rows[:MAX_TICKETS]
    ]


def _with_dispatch_decisions(found: list[Cluster], start: dt.datetime) -> list[list[int]]:
    """The clusters as sets of tickets, joined where a dispatcher already decided: a linked
    ticket belongs with its lead, a merged duplicate with the case it was merged into."""
    parent: dict[int, int] = {}

    def root(key: int) -> int:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    def join(a: int, b: int) -> None:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        parent[root(a)] = root(b)

    for cluster in found:
        for key in cluster.keys:
            parent.setdefault(key, key)
        for key in cluster.keys[1:]:
            join(key, cluster.keys[0])
    keys = set(parent)
    for ticket_id, lead_id in CaseLink.objects.filter(
        Q(ticket_id__in=keys) | Q(lead_id__in=keys)
    ).values_list("ticket_id", "lead_id"):
        join(ticket_id, lead_id)
    for ticket_id, target_id in Ticket.objects.filter(
        state=State.MERGED, duplicate_of_id__in=keys, received_at__gte=start
    ).values_list("pk", "duplicate_of_id"):
        join(ticket_id, target_id)
    groups: dict[int, list[int]] = {}
    for key in parent:
        groups.setdefault(root(key), []).append(key)
    return [sorted(group) for group in groups.values()]


def _lead(keys: list[int], states: dict[int, tuple[str, dt.datetime, bool]]) -> int:
    """The case the others gather under: one that already leads, else the oldest that is
    furthest along, else the oldest open one."""

    def rank(key: int) -> tuple[int, dt.datetime, int]:
        state, received, leads = states[key]
        if leads:
            return (0, received, key)
        if state in ADVANCED:
            return (1, received, key)
        if state in OPEN_STATES:
            return (2, received, key)
        return (3, received, key)

    return min(keys, key=rank)


def hotspots_refresh(
    *, now: dt.datetime | None = None, settings: Settings | None = None
) -> RefreshResult:
    """Recompute the hot issues of the last seven days (every ticket but invalid ones;
    merged duplicates count with their case) and replace the stored snapshot."""
    started = time.monotonic()
    now = now or timezone.now()
    start = now - WINDOW
    docs = _docs(start, now)
    found = clusters_find(docs, settings) if docs else []
    groups = [group for group in _with_dispatch_decisions(found, start) if len(group) >= MIN_SIZE]
    states = _states({key for group in groups for key in group})
    owner = {key: index for index, cluster in enumerate(found) for key in cluster.keys}
    result = RefreshResult(tickets=len(docs))
    with transaction.atomic():
        list(HotspotRun.objects.select_for_update().values_list("pk", flat=True))
        HotspotRun.objects.all().delete()
        run = HotspotRun.objects.create(computed_at=now, window_start=start, tickets=len(docs))
        issues, memberships = [], []
        for group in groups:
            cluster = _describe(group, found, owner)
            received = [states[key][1] for key in group]
            issues.append(
                HotIssue(
                    run=run,
                    label=cluster.label[:100] if cluster else "",
                    area=cluster.area[:300] if cluster else "",
                    size=len(group),
                    first_at=min(received),
                    last_at=max(received),
                    cohesion=cluster.cohesion if cluster else 0.0,
                    lead_id=_lead(group, states),
                )
            )
        HotIssue.objects.bulk_create(issues)
        for issue, group in zip(issues, groups, strict=True):
            memberships += [HotIssueMember(issue=issue, ticket_id=key) for key in group]
        HotIssueMember.objects.bulk_create(memberships, batch_size=2000)
        result.issues = len(issues)
        result.took_ms = int((time.monotonic() - started) * 1000)
        HotspotRun.objects.filter(pk=run.pk).update(took_ms=result.took_ms)
    return result


def _states(keys: set[int]) -> dict[int, tuple[str, dt.datetime, bool]]:
    leads = set(CaseLink.objects.filter(lead_id__in=keys).values_list("lead_id", flat=True))
    return {
        pk: (state, received, pk in leads)
        for pk, state, received in Ticket.objects.filter(pk__in=keys).values_list(
            "pk", "state", "received_at"
        )
    }


def _describe(group: list[int], found: list[Cluster], owner: dict[int, int]) -> Cluster | None:
    """The text cluster with most of a group's tickets names it (keywords and place)."""
    counts: dict[int, int] = {}
    for key in group:
        if key in owner:
            counts[owner[key]] = counts.get(owner[key], 0) + 1
    if not counts:
        return None
    return found[max(counts, key=lambda index: (counts[index], -index))]


def hotspots_refresh_job() -> RefreshResult:
    """The periodic job (config.jobs): recompute the snapshot."""
    return hotspots_refresh()


# --- linking under a lead case --------------------------------------------------------------


def _lock_pair(first_id: int, second_id: int) -> None:
    # Always in id order, so two dispatchers linking A under B and B under A cannot deadlock.
    list(
        Ticket.objects.select_for_update()
        .filter(pk__in=[first_id, second_id])
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _lead_for(case_no: str, ticket_id: int) -> Ticket:
    lead = Ticket.objects.filter(case_no=(case_no or "").strip()).first()
    if lead is None or lead.pk == ticket_id:
        raise InvalidInput("请填写另一件工单的编号作为主案。", field="lead")
    return lead


def ticket_link_lead(
    *, actor: Any, ticket_id: int, lead_case_no: str, expected_version: int | None = None
) -> Ticket:
    """关联主案: an open ticket is handled under a lead case (it stays open; both timelines
    record the link). One level only: a lead is never itself linked under another."""
    with transaction.atomic():
        lead = _lead_for(lead_case_no, ticket_id)
        _lock_pair(ticket_id, lead.pk)
        lead.refresh_from_db()
        if actor is not None:
            _check_actor(actor, "link_lead", lead)
        if lead.state in (State.MERGED, State.INVALID):
            raise InvalidInput(
                f"工单 {lead.case_no} 状态为「{_state_label(lead.state)}」，不能作为主案。",
                field="lead",
            )
        above = CaseLink.objects.filter(ticket_id=lead.pk).select_related("lead").first()
        if above is not None:
            raise InvalidInput(
                f"工单 {lead.case_no} 已关联到主案 {above.lead.case_no}，请直接关联到 {above.lead.case_no}。",
                field="lead",
            )

        def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
            if ticket.state not in OPEN_STATES:
                raise TransitionNotAllowed(
                    f"工单 {ticket.case_no} 当前状态为「{_state_label(ticket.state)}」，只有办理中的工单可以关联主案。",
                    action="link_lead",
                    state=ticket.state,
                )
            current = CaseLink.objects.filter(ticket=ticket).select_related("lead").first()
            if current is not None:
                raise InvalidInput(
                    f"工单 {ticket.case_no} 已关联到主案 {current.lead.case_no}。", field="lead"
                )
            if CaseLink.objects.filter(lead=ticket).exists():
                raise InvalidInput(
                    f"工单 {ticket.case_no} 本身是主案（已有关联工单），不能再关联到其他主案。",
                    field="lead",
                )
            CaseLink.objects.create(ticket=ticket, lead=lead, created_by=actor, created_at=now)
            return {"lead": lead.case_no, "lead_id": lead.pk}

        ticket = _run(
            ticket_id=ticket_id,
            actor=actor,
            action="link_lead",
            apply=apply,
            expected_version=expected_version,
            transition=False,
        )
        event_append(
            ticket=lead,
            kind="lead_of",
            actor=actor,
            from_state=lead.state,
            payload={"case": ticket.case_no, "case_id": ticket.pk},
        )
    return ticket


def ticket_unlink_lead(
    *, actor: Any, ticket_id: int, expected_version: int | None = None
) -> Ticket:
    """取消关联: the ticket is no longer handled under its lead case."""
    with transaction.atomic():
        link = CaseLink.objects.filter(ticket_id=ticket_id).select_related("lead").first()
        if link is None:
            raise InvalidInput("此工单没有关联主案。")
        lead = link.lead
        _lock_pair(ticket_id, lead.pk)

        def apply(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
            deleted, _ = CaseLink.objects.filter(ticket=ticket).delete()
            if not deleted:
                raise InvalidInput("此工单没有关联主案。")
            return {"lead": lead.case_no, "lead_id": lead.pk}

        ticket = _run(
            ticket_id=ticket_id,
            actor=actor,
            action="unlink_lead",
            apply=apply,
            expected_version=expected_version,
            transition=False,
        )
        event_append(
            ticket=lead,
            kind="lead_of_removed",
            actor=actor,
            from_state=lead.state,
            payload={"case": ticket.case_no, "case_id": ticket.pk},
        )
    return ticket


# --- the one click ---------------------------------------------------------------------------


@dataclass
class Outcome:
    case_no: str
    ok: bool
    message: str


@dataclass
class ClickResult:
    action: str
    lead_case_no: str
    items: list[Outcome] = field(default_factory=list)
    left_out: int = 0


def _each(
    *,
    lead: Ticket,
    picks: Sequence[tuple[int, int | None]],
    act: Callable[[int, int | None], Any],
    action: str,
) -> ClickResult:
    result = ClickResult(action=action, lead_case_no=lead.case_no)
    picks = [pick for pick in picks if pick[0] != lead.pk]
    result.left_out = max(0, len(picks) - MAX_PER_CLICK)
    case_nos = dict(
        Ticket.objects.filter(pk__in=[pk for pk, _ in picks]).values_list("pk", "case_no")
    )
    for ticket_id, version in picks[:MAX_PER_CLICK]:
        case_no = case_nos.get(ticket_id, f"#{ticket_id}")
        try:
            act(ticket_id, version)
            result.items.append(Outcome(case_no, True, "成功"))
        except TicketError as error:
            result.items.append(Outcome(case_no, False, error.message))
    return result


def hotspot_merge(
    *, actor: Any, lead_id: int, picks: Sequence[tuple[int, int | None]]
) -> ClickResult:
    """Merge the picked tickets (id, version seen) into the lead case, one by one."""
    lead = Ticket.objects.filter(pk=lead_id).first()
    if lead is None:
        raise InvalidInput("主案不存在。", field="lead")
    return _each(
        lead=lead,
        picks=picks,
        action="merge",
        act=lambda pk, version: ticket_merge(
            actor=actor, ticket_id=pk, into_case_no=lead.case_no, expected_version=version
        ),
    )


def hotspot_link(
    *, actor: Any, lead_id: int, picks: Sequence[tuple[int, int | None]]
) -> ClickResult:
    """Link the picked tickets (id, version seen) under the lead case, one by one."""
    lead = Ticket.objects.filter(pk=lead_id).first()
    if lead is None:
        raise InvalidInput("主案不存在。", field="lead")
    return _each(
        lead=lead,
        picks=picks,
        action="link",
        act=lambda pk, version: ticket_link_lead(
            actor=actor, ticket_id=pk, lead_case_no=lead.case_no, expected_version=version
        ),
    )
