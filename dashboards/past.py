"""What a ticket was at a past moment ``as_of``, read from its timeline (issue 14, item 2).

A ticket's row holds what it is now. Figures for ``as_of`` need what it was then: whether it
was already merged or invalid (and out of the population), which department was responsible,
its category and request type, and the resolution deadline in force (an extension, a resumed
pause, a reopen or a reclassification after ``as_of`` moves the deadline on the row). Every
TicketEvent stamps the ticket as it stood right after it (``to_state`` and ``after_*``), so:

- a ticket with no event after ``as_of`` is still as it was then: its own columns are read
  (the usual case: a dashboard computed now, a report computed when the month closes);
- otherwise its last event by ``as_of`` says what it was (by ``created_at``, then ``id``);
- a ticket whose events all came after ``as_of`` had not reached us yet (a 12345 work order
  whose own 受理时间 is earlier than its arrival): it is not counted;
- an event written before the stamps existed has ``to_state`` only; the other values then
  fall back to the ticket's current ones (what the figures always used before).

The other facts the figures need were always stamped when they happened (``acknowledged_at``,
``first_replied_at``, ``ack_on_time``/``resolved_on_time``, feedback, extension decisions,
assignment, return and reopen events) and are read with ``<= as_of`` where they are used.

``at_moment`` states the rule with the ORM (the portable engine and the reference queries use
it); ``dashboards.rollup`` states the same rule in one SQL statement for PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    Field,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)

from tickets.models import State, Ticket, TicketEvent

EXCLUDED_STATES = (State.MERGED, State.INVALID)
# ticket column → the stamp of the same value on its events
STAMPS: dict[str, tuple[str, Field[Any, Any]]] = {
    "department_id": ("after_department_id", IntegerField()),
    "category_id": ("after_category_id", IntegerField()),
    "request_type": ("after_request_type", CharField()),
    "resolve_due_at": ("after_resolve_due_at", DateTimeField()),
}
# the annotation holding each value at as_of
THEN = {"state": "then_state", **{column: f"then_{column}" for column in STAMPS}}


def at_moment(queryset: QuerySet[Ticket], as_of: dt.datetime) -> QuerySet[Ticket]:
    """``queryset`` annotated with ``then_state``, ``then_department_id``,
    ``then_category_id``, ``then_request_type`` and ``then_resolve_due_at``: each value as
    it was at ``as_of`` (``then_state`` is None for a ticket that had not reached us yet).
    The look-ups of the last event run only for tickets with an event after ``as_of``."""
    later = Exists(TicketEvent.objects.filter(ticket=OuterRef("pk"), created_at__gt=as_of))
    last = TicketEvent.objects.filter(ticket=OuterRef("pk"), created_at__lte=as_of).order_by(
        "-created_at", "-id"
    )
    stamped = Q(then_last_due__isnull=False)
    queryset = queryset.alias(
        then_moved=later,
        then_last_due=Subquery(last.values("after_resolve_due_at")[:1]),
    )
    annotations = {
        "then_state": Case(
            When(then_moved=True, then=Subquery(last.values("to_state")[:1])),
            default=F("state"),
            output_field=CharField(),
        )
    }
    for column, (stamp, output) in STAMPS.items():
        annotations[THEN[column]] = Case(
            When(Q(then_moved=True) & stamped, then=Subquery(last.values(stamp)[:1])),
            default=F(column),
            output_field=output,
        )
    return queryset.annotate(**annotations)


def in_population(
    queryset: QuerySet[Ticket], as_of: dt.datetime, departments: Collection[int] | None
) -> QuerySet[Ticket]:
    """Of ``queryset`` (tickets received in the period by ``as_of``), those counted at
    ``as_of``: already with us, not merged or invalid by then (within ``departments``, when
    given: the departments responsible at ``as_of``)."""
    state, department = THEN["state"], THEN["department_id"]
    annotated = at_moment(queryset, as_of).filter(**{f"{state}__isnull": False})
    annotated = annotated.exclude(**{f"{state}__in": EXCLUDED_STATES})
    if departments is not None:
        annotated = annotated.filter(**{f"{department}__in": list(departments)})
    return annotated
