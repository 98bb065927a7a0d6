"""One demo ticket's life: each step runs a real service at its own frozen moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickets import services
from tickets.demo.data import (
    CONSULT_REPLIES,
    DAY,
    HOUR,
    MINUTE,
    PLACES,
    QUESTIONS,
    REPLIES,
    RETURN_REASONS,
    TEMPLATES,
)
from tickets.demo.timing import _at
from tickets.models import (
    RequestType,
    State,
    Ticket,
)
from tickets.services.feedback import ticket_feedback

if TYPE_CHECKING:
    from tickets.demo.loader import Loader, Plan


class Steps:
    """One ticket's way through the workflow: each step a little after the one before."""

    def __init__(self, loader: Loader, ticket: Ticket, plan: Plan) -> None:
        self.loader = loader
        self.rng = loader.rng
        self.ticket = ticket
        self.plan = plan
        self.moment = ticket.received_at
        self.dispatcher = loader.users["dispatcher"]

    def _next(self, delay: dt.timedelta) -> dt.datetime:
        # Never in the future: squeeze the step between the last one and now.
        latest = self.loader.now - 20 * MINUTE
        moment = self.moment + delay
        if moment > latest:
            room = max(latest - self.moment, MINUTE)
            moment = self.moment + room * self.rng.uniform(0.2, 0.6)
        self.moment = moment
        return moment

    def _do(self, delay: dt.timedelta, action: Callable[..., Ticket], **kwargs: Any) -> Ticket:
        self.ticket = _at(self._next(delay), action, ticket_id=self.ticket.pk, **kwargs)
        return self.ticket

    def acknowledge(self) -> Ticket:
        if self.ticket.state != State.NEW:
            return self.ticket  # 12345 work orders arrive acknowledged
        late = self.rng.random() < 0.12
        minutes = self.rng.uniform(32, 120) if late else self.rng.uniform(2, 25)
        return self._do(minutes * MINUTE, services.ticket_acknowledge, actor=self.dispatcher)

    def answerable_by_dispatcher(self) -> bool:
        template = TEMPLATES[self.plan.template]
        return template.request_type == RequestType.CONSULT and self.rng.random() < 0.4

    def classify(self) -> None:
        if self.ticket.category_id is not None:
            return
        category = self.loader.categories[TEMPLATES[self.plan.template].category]
        self._do(
            self.rng.uniform(1, 10) * MINUTE,
            services.ticket_classify,
            actor=self.dispatcher,
            category_id=category.pk,
        )

    def assign(self) -> Ticket:
        self.classify()
        if self.rng.random() < 0.08:
            # Sent to the wrong bureau first: it returns the case (退单) and dispatch tries again.
            wrong = self.loader.departments[self.rng.choice(["jtj", "swj", "jdb"])]
            category = self.ticket.category
            if category is not None and wrong.pk != category.default_department_id:
                self._do(
                    self.rng.uniform(5, 60) * MINUTE,
                    services.ticket_assign,
                    actor=self.dispatcher,
                    department_id=wrong.pk,
                )
                self._do(
                    self.rng.uniform(1, 6) * HOUR,
                    services.ticket_return,
                    actor=self.loader.handler_for(self.ticket),
                    reason=self.rng.choice(RETURN_REASONS),
                )
        return self._do(
            self.rng.uniform(5, 60) * MINUTE, services.ticket_assign, actor=self.dispatcher
        )

    def accept(self) -> Ticket:
        return self._do(
            self.rng.uniform(0.5, 8) * HOUR,
            services.ticket_accept,
            actor=self.loader.handler_for(self.ticket),
        )

    def request_info(self) -> Ticket:
        return self._do(
            self.rng.uniform(2, 30) * HOUR,
            services.ticket_request_info,
            actor=self.ticket.assignee or self.loader.handler_for(self.ticket),
            question=self.rng.choice(QUESTIONS),
        )

    def citizen_answers(self, message: services.IncomingMessage) -> Ticket:
        moment = self._next(self.rng.uniform(2, 48) * HOUR)
        if message.may_follow_up:
            # The citizen answers in the same chat: intake joins it to the ticket and resumes.
            answer = services.IncomingMessage(
                channel=message.channel,
                sender_kind=message.sender_kind,
                sender_id=message.sender_id,
                account=message.account,
                text=f"补充：具体位置在{PLACES[self.plan.place]}东侧五十米左右，照片稍后发送。",
            )
            _at(moment, services.intake_message, message=answer)
        else:
            _at(
                moment,
                services.ticket_resume,
                actor=self.ticket.assignee or self.loader.handler_for(self.ticket),
                ticket_id=self.ticket.pk,
                note="市民已电话补充情况",
            )
        self.ticket = Ticket.objects.get(pk=self.ticket.pk)
        return self.ticket

    def reply(self, *, by_dispatcher: bool = False) -> Ticket:
        remaining = self.ticket.resolve_due_at - self.moment
        if by_dispatcher:
            self.classify()
            delay = self.rng.uniform(10, 90) * MINUTE
        elif self.rng.random() < 0.15 or remaining < HOUR:
            delay = max(remaining, dt.timedelta()) + self.rng.uniform(0.3, 3) * DAY  # late
        else:
            delay = max(remaining * self.rng.uniform(0.1, 0.8), 30 * MINUTE)
        department = self.ticket.department.name if self.ticket.department else "区政务服务热线"
        consult = self.ticket.request_type == RequestType.CONSULT
        actor = self.dispatcher if by_dispatcher else self.ticket.assignee
        return self._do(
            delay,
            services.ticket_reply,
            actor=actor or self.loader.handler_for(self.ticket),
            content=self.rng.choice(CONSULT_REPLIES if consult else REPLIES).format(
                dept=department
            ),
        )

    def close_or_reopen(self, *, reopen: bool = False) -> Ticket:
        """回访: the citizen's feedback closes the case, or reopens it when unsatisfied
        (through the real feedback service, so satisfaction figures have data)."""
        delay = self.rng.uniform(1, 5) * DAY
        if reopen:
            satisfaction, resolved, comment = "unsatisfied", False, "问题没有解决。"
        elif self.rng.random() < 0.7:
            satisfaction, resolved, comment = "satisfied", True, ""
        else:
            satisfaction, resolved, comment = "basically_satisfied", self.rng.random() < 0.6, ""

        def feedback(*, ticket_id: int) -> Ticket:
            ticket_feedback(
                ticket_id=ticket_id,
                satisfaction=satisfaction,
                resolved=resolved,
                comment=comment,
                channel=self.ticket.channel,
            )
            return Ticket.objects.get(pk=ticket_id)

        return self._do(delay, feedback)

    def mark_invalid(self) -> Ticket:
        reason = "广告或无实际诉求内容" if self.plan.spam else "经核实不属于政务诉求"
        return self._do(
            self.rng.uniform(5, 40) * MINUTE,
            services.ticket_mark_invalid,
            actor=self.dispatcher,
            reason=reason,
        )

    def merge(self, target: Ticket | None) -> Ticket:
        assert target is not None
        return self._do(
            self.rng.uniform(5, 40) * MINUTE,
            services.ticket_merge,
            actor=self.dispatcher,
            into_case_no=target.case_no,
        )
