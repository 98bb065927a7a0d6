"""Finding our side of a 12345 work order: its ticket, the platform version we hold, and the
account's code maps (platform unit → our department, classification → our category)."""

from __future__ import annotations

from typing import Any

from integrations.hotline.parser import CHANNEL, HotlineOrder
from integrations.models import ChannelAccount, HotlineCodeMap, InboundMessage
from tickets.models import Category, Department, Ticket


def ticket_for_order(*, account: str, order_no: str) -> Ticket | None:
    """The ticket the work order is being handled in: the latest it opened (a dispatch after
    a recall opens a new one)."""
    return (
        Ticket.objects.filter(channel=CHANNEL, channel_account=account, external_ref=order_no)
        .order_by("-id")
        .first()
    )


def _versions(rows: Any, prefix: str) -> list[int]:
    keys = rows.filter(
        channel=CHANNEL, dedupe_key__startswith=prefix, status=InboundMessage.Status.PROCESSED
    ).values_list("dedupe_key", flat=True)
    return [int(key[len(prefix) :]) for key in keys if key[len(prefix) :].isdigit()]


def order_version(*, account: str, order_no: str) -> int:
    """The highest dispatch version of the order taken in so far (0 if none).

    A dispatch taken in (processed) is always recorded against the order's ticket, and tickets
    are never deleted: the journal rows are found through the order's tickets (both indexed),
    not by their key's prefix, which no index serves (a scan of every 12345 message)."""
    tickets = Ticket.objects.filter(channel=CHANNEL, channel_account=account, external_ref=order_no)
    rows = InboundMessage.objects.filter(account=account, ticket__in=tickets)
    return max(_versions(rows, f"{account}:{order_no}:dispatch:"), default=0)


def platform_version(ticket: Ticket) -> int:
    """The highest dispatch version of the order taken in for this ticket (1 if unknown).

    The journal holds it: every dispatch row is keyed
    ``<account>:<order_no>:dispatch:<version>``."""
    rows = InboundMessage.objects.filter(account=ticket.channel_account, ticket=ticket)
    prefix = f"{ticket.channel_account}:{ticket.external_ref}:dispatch:"
    return max(_versions(rows, prefix), default=1)


def _mapped(account: ChannelAccount, kind: str, code: str) -> HotlineCodeMap | None:
    if not code:
        return None
    return (
        HotlineCodeMap.objects.select_related("department", "category")
        .filter(account=account, kind=kind, code=code)
        .first()
    )


def mapped_category(account: ChannelAccount, code: str) -> Category | None:
    row = _mapped(account, HotlineCodeMap.Kind.CATEGORY, code)
    return row.category if row is not None else None


def mapped_department(account: ChannelAccount, code: str) -> Department | None:
    row = _mapped(account, HotlineCodeMap.Kind.UNIT, code)
    return row.department if row is not None else None


def mapped_codes(account: ChannelAccount, order: HotlineOrder) -> tuple[str, str]:
    """Our category code and department code for the order ('' where there is no mapping)."""
    category = mapped_category(account, order.category_code)
    department = mapped_department(account, order.unit_code)
    return (category.code if category else "", department.code if department else "")
