"""Errors the write path raises; each carries a Chinese message a user can act on."""

from __future__ import annotations


class TicketError(Exception):
    """Base class: ``message`` is shown to the user, ``status`` is the HTTP status to use."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class TicketNotFound(TicketError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "工单不存在或您无权查看。") -> None:
        super().__init__(message)


class ActionForbidden(TicketError):
    status = 403
    code = "forbidden"


class ConflictError(TicketError):
    """Someone else changed the ticket first; nothing was written."""

    status = 409
    code = "conflict"


class TransitionNotAllowed(ConflictError):
    code = "transition_not_allowed"

    def __init__(self, message: str, *, action: str, state: str) -> None:
        super().__init__(message)
        self.action = action
        self.state = state


class InvalidInput(TicketError):
    code = "invalid"


class ConfirmationRequired(TicketError):
    """Allowed, but only once the user has explicitly confirmed what ``items`` lists; nothing
    was written. ``token`` names exactly what was shown: the confirmation sends it back."""

    status = 409
    code = "confirmation_required"

    def __init__(self, message: str, *, token: str, items: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.token = token
        self.items = items
