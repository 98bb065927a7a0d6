"""The inbox's reads: the queue's filters, search, order and keyset cursor, and catch-up.

Everything starts from ``ticket_visible_q`` (the selectors' department scoping), so a filter
or a search can only narrow what the viewer may see.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import OperationalError, connection, transaction
from django.db.models import Expression, Max, Q, QuerySet
from django.db.models.expressions import Col
from django.db.models.functions import Coalesce
from psycopg.errors import QueryCanceled

from tickets.models import OPEN_STATES, Citizen, CitizenIdentity, State, Ticket, TicketEvent
from tickets.models.ticket import QUEUE_BUCKET, QUEUE_DUE
from tickets.selectors import ticket_visible_q
from tickets.views.rows import ROW_FIELDS

PAGE_SIZE = 50
EXPORT_PAGE = 2000  # rows per query when the whole view is read (the Excel export)
CATCH_UP_LIMIT = 200
# CJK ideographs (with extension A and the compatibility block). Migration 0008 builds the
# stored search document with the same ranges (tests/inbox/test_search.py checks they agree).
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{CJK}]|[^\W_{CJK}]+")
CASE_NO = re.compile(r"^\d{8,14}$")
# A phone number as people type it: digits with spaces, dashes or a +86 in front.
PHONE = re.compile(r"^\+?[\d\s\-()]{7,24}$")
NAME_MAX = 64  # Citizen.name
# Citizens one search may match by phone or name (a name shared by more people than this is
# not how one finds a case; the text search still applies).
CITIZEN_MATCH_LIMIT = 200
PHONE_KINDS = (CitizenIdentity.Kind.PHONE, CitizenIdentity.Kind.HOTLINE_CALLER)
# Replied, closed, merged and invalid cases: shown after the open ones, newest first.
SETTLED_STATES = tuple(state for state in State.values if state not in OPEN_STATES)
SETTLED_BUCKET = 2
SETTLED_PROBE = 2000  # settled matches read by id and sorted, rather than found by a walk
SETTLED_TIMEOUT_MS = 1000  # at most this long on the settled part of one page


@dataclass
class QueueFilter:
    """What the queue is narrowed to; every field is optional."""

    states: list[str] = field(default_factory=list)
    channel: str = ""
    department_ids: list[int] = field(default_factory=list)  # the one picked and its subtree
    category_id: int | None = None
    request_type: str = ""
    overdue: bool = False
    supervised: bool = False
    mine: bool = False
    q: str = ""

    def scope_states(self) -> list[str]:
        """The states the view covers: those picked; else, for a search, every state (a case
        number, a phone or a name finds the case whatever became of it); else the open ones."""
        if self.states:
            return list(self.states)
        return list(State.values) if self.q.strip() else list(OPEN_STATES)

    @property
    def settled(self) -> bool:
        """Whether replied, closed, merged or invalid cases are among those covered."""
        return any(state in SETTLED_STATES for state in self.scope_states())


class SearchDocument(Expression):
    """The ticket's stored search document: the generated column ``search_document``
    (PostgreSQL only, migration 0008; the model does not declare it). It holds
    ``to_tsvector('simple', <title> || ' ' || <content>)`` with a space put around every CJK
    character, so PostgreSQL's ``simple`` parser makes each one a token (it would otherwise keep
    a run of Chinese as one word). Stored, so a phrase match reads it instead of building it per
    row; the GIN index ``ticket_search`` finds rare terms."""

    output_field = SearchVectorField()

    def resolve_expression(  # type: ignore[override]  # resolves to a column, as F() does
        self, query: Any = None, *args: Any, **kwargs: Any
    ) -> Col:
        column = SearchVectorField()
        column.set_attributes_from_name("search_document")
        column.model = Ticket
        # A column of the query's own ticket table, so it follows the alias when the queryset
        # becomes a subquery.
        return Col(query.get_initial_alias(), column, output_field=self.output_field)


def search_tokens(text: str) -> list[list[str]]:
    """Split a query into terms (by whitespace), each term into tokens: one per Chinese
    character, one per run of letters/digits. ``"路灯 建设路"`` → ``[["路","灯"],["建","设","路"]]``."""
    terms = []
    for part in text.split():
        tokens = [token.lower() for token in _WORD.findall(part)]
        if tokens:
            terms.append(tokens)
    return terms


def tsquery_text(terms: list[list[str]]) -> str:
    """Each term is a phrase (``<->``: tokens next to each other in this order), terms are
    ANDed. Tokens hold only letters and digits, so nothing in them is a tsquery operator."""
    return " & ".join("(" + " <-> ".join(tokens) + ")" for tokens in terms)


def phone_forms(text: str) -> list[str]:
    """The ways a typed phone number may be stored: as typed without separators, and with
    and without the country code. ``"+86 138-0013-8000"`` → ``["+8613800138000",
    "13800138000", "8613800138000"]``; not a phone number → ``[]``."""
    if not PHONE.match(text):
        return []
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7:
        return []
    national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    forms = [re.sub(r"[\s\-()]", "", text), national, "86" + national, "+86" + national]
    return list(dict.fromkeys(forms))


def citizen_ids_matching(text: str) -> list[int]:
    """Citizens whose phone number (on file or as their phone/12345 identity) or whose name is
    exactly ``text``: one query (indexed: migration 0009), at most ``CITIZEN_MATCH_LIMIT``."""
    text = text.strip()
    if not text or len(text) > NAME_MAX or (len(text.split()) > 1 and not PHONE.match(text)):
        return []
    phones = phone_forms(text)
    if phones:
        matches = Q(phone__in=phones) | Q(
            pk__in=CitizenIdentity.objects.filter(kind__in=PHONE_KINDS, value__in=phones).values(
                "citizen_id"
            )
        )
    else:
        matches = Q(name=text)
    return list(Citizen.objects.filter(matches).values_list("pk", flat=True)[:CITIZEN_MATCH_LIMIT])


def _search(queryset: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """Title and content (every term, each a phrase), or the exact case number, or the
    citizen's phone number or name."""
    text = text.strip()[:100]
    if not text:
        return queryset
    by_case_no = Q(case_no=text) if CASE_NO.match(text) else Q(pk__in=[])
    citizens = citizen_ids_matching(text)
    if citizens:
        by_case_no |= Q(citizen_id__in=citizens)
    terms = search_tokens(text)
    if not terms:
        return queryset.filter(by_case_no)
    if connection.vendor == "postgresql":
        query = SearchQuery(tsquery_text(terms), config="simple", search_type="raw")
        return queryset.alias(search_document=SearchDocument()).filter(
            Q(search_document=query) | by_case_no
        )
    # SQLite (the embedded default): each term must appear in the title or the content.
    matches = Q()
    for part in text.split():
        matches &= Q(title__icontains=part) | Q(content__icontains=part)
    return queryset.filter(matches | by_case_no)


def overdue_q(now: dt.datetime) -> Q:
    return Q(state=State.NEW, ack_due_at__lt=now) | Q(
        state__in=[State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS],
        resolve_due_at__lt=now,
    )


def ticket_queryset_for_inbox(
    *, user: Any, filters: QueueFilter, now: dt.datetime, extra_fields: tuple[str, ...] = ()
) -> QuerySet[Ticket, dict[str, Any]]:
    """The viewer's tickets narrowed by ``filters``, in queue order, as the values a row shows
    (``ROW_FIELDS`` with the order keys, and ``extra_fields``): one query for the page,
    whatever its length. ``queue_page`` puts settled cases after the open ones."""
    queryset = Ticket.objects.filter(ticket_visible_q(user))
    queryset = queryset.filter(state__in=filters.scope_states())
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.department_ids:
        queryset = queryset.filter(department_id__in=filters.department_ids)
    if filters.category_id is not None:
        queryset = queryset.filter(category_id=filters.category_id)
    if filters.request_type:
        queryset = queryset.filter(request_type=filters.request_type)
    if filters.overdue:
        queryset = queryset.filter(overdue_q(now))
    if filters.supervised:
        queryset = queryset.filter(supervised=True)
    if filters.mine:
        queryset = queryset.filter(assignee_id=user.pk)
    queryset = _search(queryset, filters.q)
    # Queue order: new cases first by their ack deadline, then the rest by resolution deadline.
    # (Indexed by ticket_queue / ticket_dept_queue: keep the expressions in tickets.models.)
    return (
        queryset.annotate(queue_bucket=QUEUE_BUCKET, queue_due=QUEUE_DUE)
        .order_by("queue_bucket", "queue_due", "id")
        .values(*ROW_FIELDS, *extra_fields, "queue_bucket", "queue_due")
    )


def cursor_encode(row: dict[str, Any]) -> str:
    due: dt.datetime = row["queue_due"]
    raw = json.dumps([row["queue_bucket"], due.isoformat(), row["pk"]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[int, dt.datetime, int] | None:
    """A cursor from the page's "more" link; anything malformed means "from the start"."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        bucket, due, pk = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        return int(bucket), dt.datetime.fromisoformat(due), int(pk)
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class QueuePage:
    """One page of rows, the next page's cursor ("" at the end), and whether the settled
    cases could not be searched in time (``settled_cut``: the page says so)."""

    rows: list[dict[str, Any]]
    cursor: str
    settled_cut: bool = False


def queue_page(
    *,
    queryset: QuerySet[Ticket, dict[str, Any]],
    cursor: str = "",
    limit: int = PAGE_SIZE,
    settled: bool = False,
) -> QueuePage:
    """One page after ``cursor``. Open cases come in queue order (keyset on bucket, due, id:
    the partial queue indexes); when the view covers them (``settled``: a search, or a state
    filter that asks for them), replied, closed, merged and invalid cases follow, newest first
    (keyset on id). Each part is read through an index, so a search over a million settled
    cases reads a page, not every match."""
    after = cursor_decode(cursor) if cursor else None
    rows: list[dict[str, Any]] = []
    if after is None or after[0] < SETTLED_BUCKET:
        open_part = queryset.filter(state__in=list(OPEN_STATES))
        if after is not None:
            bucket, due, pk = after
            open_part = open_part.filter(
                Q(queue_bucket__gt=bucket)
                | Q(queue_bucket=bucket, queue_due__gt=due)
                | Q(queue_bucket=bucket, queue_due=due, id__gt=pk)
            )
        rows = list(open_part[: limit + 1])
    cut = False
    if settled and len(rows) <= limit:
        before = after[2] if after is not None and after[0] >= SETTLED_BUCKET else None
        count = limit + 1 - len(rows)
        found = _bounded(lambda: _settled_rows(queryset, before=before, count=count))
        cut = found is None
        rows += [{**row, "queue_bucket": SETTLED_BUCKET} for row in found or []]
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    return QueuePage(rows=page, cursor=cursor_encode(page[-1]) if more else "", settled_cut=cut)


def _settled_rows(
    queryset: QuerySet[Ticket, dict[str, Any]], *, before: int | None, count: int
) -> list[dict[str, Any]]:
    """The next ``count`` settled rows, newest first (``id`` below ``before``).

    Walking the primary key backwards finds a page at once when matches are many, but reads
    the whole table when they are few (a case number, a phone number, a rare word), and the
    planner cannot tell the two apart from a text search's estimate. So the matches are first
    counted up to ``SETTLED_PROBE`` without an order (the search's indexes answer that: GIN,
    case number, citizen); when that is all of them, they are read by id and sorted, else the
    backward walk finds the page among many."""
    part = queryset.filter(state__in=list(SETTLED_STATES))
    if before is not None:
        part = part.filter(id__lt=before)
    ids = list(part.order_by().values_list("pk", flat=True)[: SETTLED_PROBE + 1])
    if len(ids) <= SETTLED_PROBE:
        if not ids:
            return []
        part = queryset.filter(pk__in=ids)
    return list(part.order_by("-id")[:count])


def _bounded(read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    """``read()`` under a statement timeout of ``SETTLED_TIMEOUT_MS`` on PostgreSQL; None
    when it ran out. A phrase of common characters that are rarely next to each other (灯路)
    has to recheck every settled case holding both: at a million cases that takes seconds,
    which a dispatcher's search page must not hold a worker for."""
    if connection.vendor != "postgresql":
        return read()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('statement_timeout'), "
                    "set_config('statement_timeout', %s, true)",
                    [f"{SETTLED_TIMEOUT_MS}ms"],
                )
                previous = cursor.fetchone()[0]
            found = read()
            with connection.cursor() as cursor:  # inside an outer transaction it would stay
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
            return found
    except OperationalError as error:
        if isinstance(error.__cause__, QueryCanceled):
            return None
        raise


def queue_all(
    *, queryset: QuerySet[Ticket, dict[str, Any]], settled: bool, limit: int
) -> tuple[list[dict[str, Any]], bool, bool]:
    """Every row of the view in the page's order, as the pages would give them one after
    the other: (at most ``limit`` rows, whether there were more, whether the settled cases
    could not be searched in time)."""
    rows: list[dict[str, Any]] = []
    cursor, wanted, cut = "", limit + 1, False
    while True:
        page = queue_page(
            queryset=queryset,
            cursor=cursor,
            limit=min(EXPORT_PAGE, wanted - len(rows)),
            settled=settled,
        )
        rows += page.rows
        cursor, cut = page.cursor, cut or page.settled_cut
        if not cursor or len(rows) >= wanted:
            break
    return rows[:limit], len(rows) > limit, cut


def last_event_id() -> int:
    """The newest timeline event: the page's starting point for catching up."""
    return int(TicketEvent.objects.aggregate(last=Coalesce(Max("id"), 0))["last"])


def tickets_changed_since(*, user: Any, event_id: int) -> tuple[list[int], int, bool]:
    """Tickets the viewer may see that changed after ``event_id``: (ids, newest event id,
    whether there were more than the page can catch up on)."""
    events = TicketEvent.objects.filter(id__gt=event_id).filter(
        ticket__in=Ticket.objects.filter(ticket_visible_q(user)).values("pk")
    )
    newest = events.aggregate(last=Max("id"))["last"] or event_id
    ids = list(
        events.values("ticket_id")
        .annotate(last=Max("id"))
        .order_by("last")
        .values_list("ticket_id", flat=True)[: CATCH_UP_LIMIT + 1]
    )
    return ids[:CATCH_UP_LIMIT], int(newest), len(ids) > CATCH_UP_LIMIT
