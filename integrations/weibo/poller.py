"""Polling Weibo for @-mentions and comments, which the fan-service platform does not push.

``poll_all`` is the ``weibo-poll`` background job (config/jobs.py). For each active Weibo
account it reads new mentions (``statuses/mentions``) and comments addressed to the account
(``comments/to_me``) since the stored cursors, journals each one and hands it to intake, writes
an outbox row for the comment reply that carries the case number and look-up link, and only
then moves the cursor. A retry of the same item finds its journal row and creates nothing."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.journal import Outcome, inbound_receive
from integrations.models import ChannelAccount, OutboxMessage
from integrations.outbound.base import DeliveryError
from integrations.weibo import parser
from integrations.weibo.parser import PolledItem
from integrations.weibo.transport import COMMENT_REPLY_KIND, api_request

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 5
# (item kind, API path, cursor key in ChannelAccount.state)
SOURCES: tuple[tuple[str, str, str], ...] = (
    ("status", "statuses/mentions.json", "mentions_since_id"),
    ("comment", "comments/to_me.json", "comments_since_id"),
)
REPLY_ACTIONS = ("created", "status", "follow_up")


@dataclass
class PollResult:
    accounts: int = 0
    handled: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.accounts} accounts, {self.handled} items taken in, {self.failed} failures"


def poll_all() -> PollResult:
    """Poll every active Weibo account that is due; one bad account does not stop the rest."""
    result = PollResult()
    for account in ChannelAccount.objects.filter(kind="weibo", active=True).order_by("id"):
        if not account.secret("access_token") or not _due(account):
            continue
        result.accounts += 1
        try:
            poll_account(account=account, result=result)
        except Exception as exc:  # an account's trouble is logged, never the whole job's
            logger.exception("weibo poll of %s failed", account.slug)
            result.failed += 1
            result.errors.append(f"{account.slug}: {type(exc).__name__}")
    return result


def _due(account: ChannelAccount) -> bool:
    interval = str(account.config.get("poll_interval") or "").strip()
    last = account.state.get("last_polled_at")
    if not interval.isdigit() or not last:
        return True
    try:
        since = timezone.now() - dt.datetime.fromisoformat(last)
    except ValueError:
        return True
    return since.total_seconds() >= int(interval)


def poll_account(*, account: ChannelAccount, result: PollResult | None = None) -> PollResult:
    """Take in one account's new mentions and comments; move each cursor after its batch."""
    result = result or PollResult()
    for kind, path, cursor_key in SOURCES:
        since_id = _cursor(account, cursor_key)
        try:
            items = fetch_items(account=account, kind=kind, path=path, since_id=since_id)
        except (DeliveryError, ValueError, UnicodeDecodeError) as exc:
            # The cursor stays where it was, so the next poll asks for the same items again.
            logger.warning("weibo poll %s %s: %s", account.slug, path, exc)
            result.failed += 1
            result.errors.append(f"{account.slug} {path}: {exc}")
            continue
        for item in items:
            if _take_in(account, item):
                result.handled += 1
        if items:
            cursor_advance(account=account, key=cursor_key, to=max(item.id for item in items))
    _state_set(account, last_polled_at=timezone.now().isoformat())
    return result


def _cursor(account: ChannelAccount, key: str) -> int:
    value = str(account.state.get(key) or "0")
    return int(value) if value.isdigit() else 0


def fetch_items(
    *, account: ChannelAccount, kind: str, path: str, since_id: int
) -> list[PolledItem]:
    """Every item newer than ``since_id``, oldest first (the API pages newest first)."""
    collected: dict[int, PolledItem] = {}
    max_id = 0
    for _page in range(MAX_PAGES):
        params = {"count": str(PAGE_SIZE)}
        if since_id:
            params["since_id"] = str(since_id)
        if max_id:
            params["max_id"] = str(max_id)
        page = [
            item
            for item in parser.polled_items(api_request(account, path, params=params), kind=kind)
            if item.id > since_id
        ]
        collected.update((item.id, item) for item in page)
        if len(page) < PAGE_SIZE:
            break
        max_id = min(item.id for item in page) - 1
    else:
        logger.warning(
            "weibo poll %s %s: more than %d new items", account.slug, path, MAX_PAGES * PAGE_SIZE
        )
    return sorted(collected.values(), key=lambda item: item.id)


def _our_uid(account: ChannelAccount) -> int | None:
    value = str(account.config.get("uid", "")).strip()
    return int(value) if value.isdigit() else None


def _take_in(account: ChannelAccount, item: PolledItem) -> bool:
    """Journal one item and hand it to intake; queue the comment reply. False if skipped."""
    if item.user_id is not None and item.user_id == _our_uid(account):
        return False  # our own comments and replies are not citizens' messages
    outcome = inbound_receive(
        channel=parser.CHANNEL,
        account=account.slug,
        dedupe_key=item.dedupe_key,
        raw_body=parser.polled_raw(item),
        parse=partial(parser.polled_parse, account=account.slug),
        content_type="application/json",
        headers={"source": "poll", "kind": item.kind},
    )
    comment_reply_queue(account=account, item=item, outcome=outcome)
    return True


def comment_reply_queue(
    *, account: ChannelAccount, item: PolledItem, outcome: Outcome
) -> OutboxMessage | None:
    """Write the outbox row for the public reply (once per item, whatever the retries)."""
    response = outcome.response or {}
    if response.get("action") not in REPLY_ACTIONS:
        return None
    text = parser.reply_text_for(response, limit=parser.COMMENT_LIMIT)
    if not text:
        return None
    now = timezone.now()
    payload: dict[str, Any] = {
        "target": item.kind,
        "id": str(item.status_id),
        "text": text,
        "case_no": str(response.get("case_no") or ""),
    }
    if item.kind == "comment":
        payload["cid"] = str(item.id)
    else:
        payload["mentioned_at"] = (item.created_at or now).isoformat()
    row, _created = OutboxMessage.objects.get_or_create(
        idempotency_key=f"{COMMENT_REPLY_KIND}:{account.slug}:{item.dedupe_key}",
        defaults={
            "kind": COMMENT_REPLY_KIND,
            "channel": parser.CHANNEL,
            "account": account,
            "ticket_id": outcome.inbound.ticket_id,
            "recipient": str(item.user_id or ""),
            "payload": payload,
            "created_at": now,
            "next_attempt_at": now,
        },
    )
    return row


def cursor_advance(*, account: ChannelAccount, key: str, to: int) -> None:
    """Move a cursor forward (never back), with the row locked against a parallel poll."""
    with transaction.atomic():
        locked = ChannelAccount.objects.select_for_update().get(pk=account.pk)
        if to > _cursor(locked, key):
            locked.state = {**locked.state, key: str(to)}
            locked.save(update_fields=["state", "updated_at"])
    account.state = {**account.state, key: str(max(to, _cursor(account, key)))}


def _state_set(account: ChannelAccount, **values: str) -> None:
    with transaction.atomic():
        locked = ChannelAccount.objects.select_for_update().get(pk=account.pk)
        locked.state = {**locked.state, **values}
        locked.save(update_fields=["state", "updated_at"])
    account.state = {**account.state, **values}
