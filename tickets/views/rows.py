"""Queue rows: what each row shows, worked out in one pass, and its HTML.

A page has fifty rows and every live update renders one again. Through the template engine
(an include per row, two dozen lookups and filters each, choice labels looked up per call)
the rows were a large share of the page's time (issue #8, W3); built here in Python they
cost a few microseconds each. ``row_html`` is the only place a row's markup lives: the
page, "load more", a single row and the catch-up all use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from tickets.channels import channel_badges, channel_labels
from tickets.models import State, Urgency
from tickets.views.display import DEADLINE_FIELDS, deadline_of

# What a row reads of a ticket and its category, department and assignee: the page's query
# selects these as plain values (``values()``): no ticket text, no model instances.
ROW_FIELDS = (
    "pk",
    "case_no",
    "version",
    "channel",
    "urgency",
    "title",
    "supervised",
    "calendar_confirmed",
    *DEADLINE_FIELDS,
    "category__name",
    "department__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


UNCONFIRMED_TITLE = "按常规工作日推算：该年的放假安排尚未导入，导入后自动重算"


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One row as shown; text is plain (``row_html`` escapes it)."""

    pk: int
    version: int
    case_no: str
    state: str
    state_label: str
    channel: str
    channel_label: str
    icon: str
    title: str
    category: str
    department: str
    assignee: str
    supervised: bool
    urgent: bool
    level: str
    clock: str  # "受理" or "办结", empty when no clock runs
    due_at: dt.datetime | None  # in the current time zone
    due_iso: str
    due_text: str
    # The resolution deadline was counted across a year whose holiday schedule is not out yet.
    unconfirmed: bool = False


def queue_rows(
    tickets: Iterable[Mapping[str, Any]], now: dt.datetime | None = None
) -> list[QueueRow]:
    """Rows from the queue query's ``ROW_FIELDS`` values."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    # Choice labels once per call, in the request's language (``get_FOO_display`` would look
    # each one up again per row).
    states = {value: str(label) for value, label in State.choices}
    channels, badges = channel_labels(), channel_badges()
    rows = []
    for ticket in tickets:
        deadline = deadline_of(ticket, now)
        local = deadline.due_at.astimezone(zone) if deadline.due_at else None
        state, channel = ticket["state"], ticket["channel"]
        assignee = ticket["assignee__username"] or ""
        if assignee:  # as User.get_full_name() or get_username()
            full_name = f"{ticket['assignee__first_name']} {ticket['assignee__last_name']}"
            assignee = full_name.strip() or assignee
        rows.append(
            QueueRow(
                pk=ticket["pk"],
                version=ticket["version"],
                case_no=ticket["case_no"],
                state=state,
                state_label=states.get(state, state),
                channel=channel,
                channel_label=channels.get(channel, channel),
                icon=badges.get(channel, ""),
                title=ticket["title"],
                category=ticket["category__name"] or "",
                department=ticket["department__name"] or "",
                assignee=assignee,
                supervised=ticket["supervised"],
                urgent=ticket["urgency"] == Urgency.URGENT,
                level=deadline.level,
                clock=deadline.label,
                due_at=local,
                due_iso=local.isoformat() if local else "",
                due_text=f"{local:%m-%d %H:%M}" if local else "",
                unconfirmed=deadline.label == "办结" and not ticket["calendar_confirmed"],
            )
        )
    return rows


def row_html(row: QueueRow, *, may_bulk: bool, fresh: bool = False) -> str:
    """The row's ``<tr>``; every text is escaped here."""
    case_no = escape(row.case_no)
    link = f"/inbox/tickets/{case_no}/"
    channel_label = escape(row.channel_label)
    level = escape(row.level)
    pick = (
        f'<td class="pick"><input type="checkbox" name="pick" value="{row.pk}:{row.version}"'
        f' aria-label="勾选 {case_no}"></td>'
        if may_bulk
        else ""
    )
    tags = (' <span class="tag tag-red" title="督办">督</span>' if row.supervised else "") + (
        ' <span class="tag tag-amber">急</span>' if row.urgent else ""
    )
    assignee = f'<br><small class="muted">{escape(row.assignee)}</small>' if row.assignee else ""
    if row.due_text:
        clock, due = escape(row.clock), escape(row.due_text)
        deadline = (
            f'<span class="countdown level-{level}" data-due="{escape(row.due_iso)}"'
            f' data-level="{level}" data-clock="{clock}" title="{clock}时限 {due}">'
            f"{clock} {due}</span>"
        )
        if row.unconfirmed:
            deadline += f' <span class="tag tag-amber unconfirmed" title="{UNCONFIRMED_TITLE}">未确认</span>'
    else:
        deadline = '<span class="muted">—</span>'
    return (
        f'<tr id="ticket-{row.pk}" data-ticket="{row.pk}" class="ticket-row'
        f' row-{escape(row.state)} level-{level}{" fresh" if fresh else ""}">\n'
        f"  {pick}\n"
        f'  <td class="case-no" data-label="编号"><a href="{link}">{case_no}</a>{tags}</td>\n'
        f'  <td class="channel" data-label="渠道" title="{channel_label}">'
        f'<span class="channel-icon channel-{escape(row.channel)}" aria-hidden="true">'
        f'{escape(row.icon)}</span><span class="sr">{channel_label}</span></td>\n'
        f'  <td class="title" data-label="标题"><a href="{link}">'
        f"{escape(row.title or '（无标题）')}</a></td>\n"
        f'  <td data-label="分类">{escape(row.category or "—")}</td>\n'
        f'  <td data-label="部门">{escape(row.department or "—")}{assignee}</td>\n'
        f'  <td data-label="状态"><span class="state state-{escape(row.state)}">'
        f"{escape(row.state_label)}</span></td>\n"
        f'  <td class="deadline" data-label="时限">{deadline}</td>\n'
        "</tr>"
    )


def rows_html(rows: Iterable[QueueRow], *, may_bulk: bool) -> SafeString:
    """The rows for a page's ``<tbody>``, safe to print in a template."""
    return mark_safe("\n".join(row_html(row, may_bulk=may_bulk) for row in rows))  # noqa: S308
