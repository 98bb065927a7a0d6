"""Channels as the tickets app shows them: a value, its name, a one-character badge.

The tickets app knows no channel package. ``tickets.models.Channel`` lists the channel values;
each channel package's ``ChannelSpec`` (``integrations.registry``) fills this registry with what
the inbox, the dashboards and the public pages show of it: its badge, the names of the ways a
notice went out, how its citizens are known. A channel registered from outside ``Channel``
(a channel under test, a plug-in) brings its own name, and its value becomes a choice of the
ticket's ``channel`` (the field's choices are these functions, so no migration follows).

No import of ``tickets.models`` at module level: the models read ``channel_choices`` while
they are being defined.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise

# A label may be a lazy translation (``gettext_lazy``): shown in the request's language.
Label = str | Promise


@dataclass(frozen=True)
class ChannelLook:
    value: str
    badge: str
    label: Label = ""  # empty: the ``Channel`` choice's own label
    # OutboxMessage.via → how the ticket page names it ("wechat:custom" → "微信客服消息").
    ways: tuple[tuple[str, Label], ...] = ()
    # How the channel knows its citizens, when that is a kind of identity of its own.
    identity_kind: str = ""
    identity_label: Label = ""


# The history import is the tickets app's own channel: no channel package, no notices.
_LOOKS: dict[str, ChannelLook] = {"import": ChannelLook(value="import", badge="导")}


def channel_look_register(look: ChannelLook) -> None:
    _LOOKS[look.value] = look


def channel_look_unregister(value: str) -> None:
    _LOOKS.pop(value, None)


def channel_looks() -> dict[str, ChannelLook]:
    return dict(_LOOKS)


def channel_choices() -> list[tuple[str, Label]]:
    """``Channel``'s values, then every registered channel that is not one of them."""
    from tickets.models.choices import Channel

    known = set(Channel.values)
    extra = [(look.value, look.label or look.value) for look in _LOOKS.values()]
    return [*Channel.choices, *((value, label) for value, label in extra if value not in known)]


def identity_kind_choices() -> list[tuple[str, Label]]:
    """``CitizenIdentity.Kind``, then the identity kinds registered channels brought."""
    from tickets.models.people import CitizenIdentity

    known = set(CitizenIdentity.Kind.values)
    extra = {
        look.identity_kind: look.identity_label or look.identity_kind
        for look in _LOOKS.values()
        if look.identity_kind and look.identity_kind not in known
    }
    return [*CitizenIdentity.Kind.choices, *extra.items()]


def channel_labels() -> dict[str, str]:
    """Every channel's name in the current language (once per page, not per row)."""
    return {value: str(label) for value, label in channel_choices()}


def channel_label(value: str) -> str:
    return channel_labels().get(value, value)


def channel_badge(value: str) -> str:
    look = _LOOKS.get(value)
    return look.badge if look is not None else ""


def channel_badges() -> dict[str, str]:
    return {value: look.badge for value, look in _LOOKS.items()}


def channel_way_labels() -> dict[str, str]:
    """How each way a notice can go out is named (``OutboxMessage.via`` → name)."""
    return {via: str(label) for look in _LOOKS.values() for via, label in look.ways}
