"""The channel registry: one ``ChannelSpec`` per channel package.

Each channel package declares ``SPEC = ChannelSpec(...)`` in its ``channel.py``;
``IntegrationsConfig.ready`` finds them (``channels_discover``) and registers each one, in every
process (web workers, Celery workers and beat, management commands), before any request or job
runs. Everything that differs from one channel to the next is read here: channel accounts (the
admin form, the ``channel_account`` command, their validation), citizen notices (who is
addressed how, through which senders, whether the citizen can answer), the inbox badge and the
channel's names (through ``tickets.channels``, which the spec fills), its URLs, its outbox kinds,
timeline hooks, media downloads, spool replays, journal recovery and polling jobs.

``tickets.models.Channel`` lists the channel values; a value without a spec stops the start (the
``integrations.E001`` system check), instead of its notices silently falling back to SMS.

This module imports nothing of integrations at load time: the channel modules import it.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tickets.channels import ChannelLook, Label, channel_look_register, channel_look_unregister

if TYPE_CHECKING:
    from config.jobs import Job
    from tickets.models import TicketEvent

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,15}")  # fits every ``channel`` column (16)


class AccountError(ValueError):
    """A channel account option that cannot be saved: which one, and why (in Chinese)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AccountField:
    """One option of a channel's accounts (a ``--name`` of ``channel_account``, a field of the
    admin form). A secret goes to ``ChannelAccount.secrets``: write-only, never shown again.
    ``check`` takes the stripped value and returns the value to store, or raises ``ValueError``
    with the reason."""

    name: str
    label: Label
    secret: bool = False
    check: Callable[[str], str] | None = None
    choices: tuple[tuple[str, str], ...] = ()  # a select in the admin form


# sender(account, identity_value, notice, identity) -> how it was sent (outbound.base)
NoticeSender = Callable[[Any, str, Any, Any], str]
OutboxHandler = Callable[[Any], Any]  # OutboxMessage -> processor.Result
OutboxLoop = Callable[[Any], int]  # now -> rows tried (sends its kind's due rows in order)
MediaFetcher = Callable[[Any, Any, Any], Any]  # (account, attachment, limits) -> Fetched
SpoolView = Callable[[Any, str], Any]  # (request, slug) -> HttpResponse
Reprocessor = Callable[[Any], Any]  # InboundMessage -> None
EventHook = Callable[["TicketEvent"], None]
AccountCheck = Callable[[Mapping[str, str], Mapping[str, str]], None]  # (config, secrets)


@dataclass(frozen=True)
class ChannelSpec:
    """What makes a channel a channel, in one place."""

    kind: str  # the ``Channel`` value (``tickets.models.Channel``)
    badge: str  # one character, on the inbox row and the ticket page
    # Its name; empty: the ``Channel`` choice's own (a channel outside ``Channel`` needs one).
    label: Label = ""
    # --- accounts (a WeChat official account, a 12345 platform, ...) ---
    account_label: Label = ""  # what one of its accounts is called; empty: it has none
    account_fields: tuple[AccountField, ...] = ()
    account_check: AccountCheck | None = None  # the options together; raises AccountError
    # --- citizen notices ---
    identity_kind: str = ""  # the CitizenIdentity kind its citizens are addressed by
    identity_label: Label = ""  # the name of that kind, when CitizenIdentity.Kind lacks it
    notices: bool = True  # False: the channel tells the citizen itself (12345)
    conversational: bool = False  # the citizen answers a notice by replying to it
    senders: tuple[tuple[str, NoticeSender], ...] = ()  # tried in order, then SMS
    ways: tuple[tuple[str, Label], ...] = ()  # OutboxMessage.via -> name on the ticket page
    # --- inbound ---
    urls: str = ""  # dotted URLconf module
    url_prefix: str | None = None  # from the site root; None: "integrations/<kind>/"
    spool_view: SpoolView | None = None  # replays a push spooled while the database was away
    spool_headers: tuple[str, ...] = ()  # request.META keys that replay needs
    reprocess: Reprocessor | None = None  # takes a journal row in again (recovery, admin)
    media: MediaFetcher | None = None  # downloads its attachments; None: it sends none
    # --- background work ---
    outbox_handlers: tuple[tuple[str, OutboxHandler], ...] = ()  # outbox kind -> handler
    outbox_loops: tuple[tuple[str, OutboxLoop], ...] = ()  # outbox kind -> its own loop
    event_hooks: tuple[EventHook, ...] = ()  # run inside each timeline event's transaction
    jobs: tuple[Job, ...] = ()  # periodic jobs (config.jobs)

    @property
    def prefix(self) -> str:
        return self.url_prefix if self.url_prefix is not None else f"integrations/{self.kind}/"

    @property
    def public_keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.account_fields if not f.secret)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.account_fields if f.secret)

    def account_field(self, name: str) -> AccountField | None:
        return next((f for f in self.account_fields if f.name == name), None)


_SPECS: dict[str, ChannelSpec] = {}


def channel_register(spec: ChannelSpec) -> ChannelSpec:
    """Register a channel (again: no-op); refuses a malformed spec or a second one of a kind."""
    if not KIND_PATTERN.fullmatch(spec.kind):
        raise ValueError(f"渠道标识 {spec.kind!r} 应为 2–16 个小写字母、数字或下划线")
    if len(spec.badge) != 1:
        raise ValueError(f"渠道 {spec.kind} 的标记应为一个字符，而不是 {spec.badge!r}")
    current = _SPECS.get(spec.kind)
    if current is spec:
        return spec
    if current is not None:
        raise ValueError(f"渠道 {spec.kind} 已经注册过")
    taken = {kind for other in _SPECS.values() for kind, _ in other.outbox_handlers}
    taken |= {kind for other in _SPECS.values() for kind, _ in other.outbox_loops}
    mine = {kind for kind, _ in (*spec.outbox_handlers, *spec.outbox_loops)}
    if taken & mine:
        raise ValueError(f"渠道 {spec.kind} 的待发消息类型已被其他渠道使用：{sorted(taken & mine)}")
    _SPECS[spec.kind] = spec
    channel_look_register(
        ChannelLook(
            value=spec.kind,
            badge=spec.badge,
            label=spec.label,
            ways=spec.ways,
            identity_kind=spec.identity_kind,
            identity_label=spec.identity_label,
        )
    )
    return spec


def channel_unregister(kind: str) -> None:
    """Forget a channel (a channel under test, at the end of its test)."""
    _SPECS.pop(kind, None)
    channel_look_unregister(kind)


def channel_spec(kind: str) -> ChannelSpec:
    spec = _SPECS.get(kind)
    if spec is None:
        raise LookupError(f"渠道 {kind} 没有注册 ChannelSpec")
    return spec


def channel_spec_or_none(kind: str) -> ChannelSpec | None:
    return _SPECS.get(kind)


def channel_specs() -> tuple[ChannelSpec, ...]:
    return tuple(_SPECS.values())


def channels_discover(package: str = "integrations") -> list[ChannelSpec]:
    """Register the ``SPEC`` of every ``<package>/<channel>/channel.py``, by name order."""
    found = []
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda item: item.name):
        name = f"{package}.{info.name}.channel"
        if not info.ispkg or importlib.util.find_spec(name) is None:
            continue
        spec = importlib.import_module(name).SPEC
        found.append(channel_register(spec))
    return found


# --- what the rest of integrations reads -------------------------------------------------


def account_kinds() -> dict[str, ChannelSpec]:
    """The channels that have accounts, by kind."""
    return {spec.kind: spec for spec in _SPECS.values() if spec.account_label}


def account_kind_choices() -> list[tuple[str, Label]]:
    """``ChannelAccount.kind``'s choices (a function: a new channel needs no migration)."""
    return [(spec.kind, spec.account_label) for spec in _SPECS.values() if spec.account_label]


def outbox_handler(kind: str) -> OutboxHandler | None:
    """The channel handler of an outbox kind (``weibo_comment_reply``, ...), if any."""
    for spec in _SPECS.values():
        for handled, handler in spec.outbox_handlers:
            if handled == kind:
                return handler
    return None


def outbox_loops() -> list[tuple[str, OutboxLoop]]:
    return [pair for spec in _SPECS.values() for pair in spec.outbox_loops]


def channel_events_run(event: TicketEvent) -> None:
    """The event hook of every channel (registered once with ``tickets.hooks``): each channel's
    hooks, in registration order; each checks itself whether the event concerns it."""
    for spec in tuple(_SPECS.values()):
        for hook in spec.event_hooks:
            hook(event)
