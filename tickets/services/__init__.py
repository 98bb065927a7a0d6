"""Every write to tickets. Import from here: ``from tickets import services``."""

from tickets.services.case_numbers import case_number_next
from tickets.services.events import event_append
from tickets.services.intake import (
    IncomingAttachment,
    IncomingMessage,
    IntakeResult,
    intake_message,
    ticket_create,
)
from tickets.services.workflow import (
    TRANSITION_SERVICES,
    ticket_accept,
    ticket_acknowledge,
    ticket_add_note,
    ticket_assign,
    ticket_classify,
    ticket_close,
    ticket_mark_invalid,
    ticket_merge,
    ticket_reopen,
    ticket_reply,
    ticket_request_info,
    ticket_resume,
    ticket_return,
    ticket_transfer,
)

__all__ = [
    "TRANSITION_SERVICES",
    "IncomingAttachment",
    "IncomingMessage",
    "IntakeResult",
    "case_number_next",
    "event_append",
    "intake_message",
    "ticket_accept",
    "ticket_acknowledge",
    "ticket_add_note",
    "ticket_assign",
    "ticket_classify",
    "ticket_close",
    "ticket_create",
    "ticket_mark_invalid",
    "ticket_merge",
    "ticket_reopen",
    "ticket_reply",
    "ticket_request_info",
    "ticket_resume",
    "ticket_return",
    "ticket_transfer",
]
