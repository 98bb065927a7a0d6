"""The inbox's top bar: the approval queue's link and count, for those who approve."""

from __future__ import annotations

from typing import Any

from django import template

from tickets.selectors_case import approvals_count

register = template.Library()


@register.simple_tag
def approvals_waiting(user: Any) -> int | None:
    """How many decisions wait for ``user`` (None: the user approves nothing, no link)."""
    return approvals_count(user=user)
