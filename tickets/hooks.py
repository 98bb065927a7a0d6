"""Hooks run inside the write transaction for every new timeline event.

Integrations register here (in ``IntegrationsConfig.ready``) to turn events into outbox rows:
notices to citizens, 12345 callbacks. A hook only writes rows in our database; it never talks
to the outside (the outbox worker does, after commit).

A hook that raises aborts the change that caused the event, on purpose: the outbox row and
the change commit together or not at all (a transactional outbox), so a citizen is never told
of a change that did not happen, nor a change left untold. A hook whose work is optional (the
public record) catches its own errors inside a savepoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickets.models import TicketEvent

EventHook = Callable[["TicketEvent"], None]
_HOOKS: list[EventHook] = []


def register_event_hook(hook: EventHook) -> EventHook:
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def run_event_hooks(event: TicketEvent) -> None:
    for hook in list(_HOOKS):
        hook(event)
