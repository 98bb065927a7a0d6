"""回访: the citizen's rating of a reply. Satisfied closes the case; unsatisfied reopens it
(重办) with a new 5-working-day deadline."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.errors import InvalidInput, TicketNotFound, TransitionNotAllowed
from tickets.models import Feedback, State, Ticket
from tickets.services.events import event_append
from tickets.services.workflow import ticket_close, ticket_reopen

SATISFACTION = {choice.value: str(choice.label) for choice in Feedback.Satisfaction}


def ticket_feedback(
    *,
    ticket_id: int,
    satisfaction: str,
    resolved: bool | None = None,
    comment: str = "",
    channel: str = "",
) -> Feedback:
    """Record the citizen's feedback on the current reply (once per cycle) and act on it."""
    if satisfaction not in SATISFACTION:
        raise InvalidInput("满意度应为：满意、基本满意或不满意。", field="satisfaction")
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            raise TicketNotFound()
        if ticket.state != State.REPLIED:
            raise TransitionNotAllowed(
                f"工单 {ticket.case_no} 当前状态为「{State(ticket.state).label}」，"
                "只有已答复的工单可以评价。",
                action="feedback",
                state=ticket.state,
            )
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    ticket=ticket,
                    satisfaction=satisfaction,
                    resolved=resolved,
                    comment=comment.strip()[:2000],
                    channel=channel,
                    cycle=ticket.reopen_count,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            raise InvalidInput("这次答复已经评价过了。", field="satisfaction")
        event_append(
            ticket=ticket,
            kind="feedback",
            label="市民",
            from_state=ticket.state,
            payload={
                "satisfaction": satisfaction,
                "label": SATISFACTION[satisfaction],
                "resolved": resolved,
                "comment": feedback.comment,
                "channel": channel,
                "cycle": feedback.cycle,
            },
        )
        if satisfaction == Feedback.Satisfaction.UNSATISFIED:
            reason = "市民不满意" + (f"：{feedback.comment}" if feedback.comment else "")
            ticket_reopen(actor=None, ticket_id=ticket.pk, reason=reason)
        else:
            ticket_close(actor=None, ticket_id=ticket.pk)
    return feedback


def feedback_for(ticket: Ticket) -> Any:
    return ticket.feedback.order_by("-created_at").first()
