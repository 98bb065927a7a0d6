"""Who may do what: the whole matrix of role × action × own/other department.

Each case builds a ticket in department "a" (through the real services, as the dispatcher and
handler_a of the fixed cast) in a state where the action is allowed, then calls the action's
service as the user under test. The expected outcome is written down here from the spec, not
read back from ``tickets.permissions``:

- ``ok``: the action succeeds;
- ``forbidden``: ActionForbidden (a 403: the user sees the ticket but the role may not act);
- ``not_found``: TicketNotFound (a 404: the user may not even see the ticket).

"own"/"other" picks the acting user: for handlers and supervisors the one of bureau A or of
bureau B; for the city-wide roles a user stationed at the district (own) or at bureau B (other),
which must make no difference; for the administrator a plain superuser or a superuser who also
has a handler profile in B; for the outsider a logged-in user without a role or an anonymous
visitor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from tests.conftest import walk
from tickets import services
from tickets.errors import ActionForbidden, TicketError, TicketNotFound
from tickets.models import Department, Role, StaffProfile, Ticket, TicketEvent
from tickets.selectors import ticket_access, ticket_list_for_user

ROLES = ("dispatcher", "handler", "supervisor", "leadership", "admin", "outsider")
SCOPES = ("own", "other")
ACTIONS = (
    "acknowledge",
    "assign",
    "accept",
    "return_to_dispatch",
    "transfer",
    "request_info",
    "resume",
    "reply",
    "reopen",
    "close",
    "merge_into",
    "mark_invalid",
    "classify",
    "note",
)

# The spec (ARCHITECTURE.md, "People and what they do", and the task's role list).
DISPATCHER_MAY = frozenset(
    {
        "acknowledge",
        "assign",
        "transfer",
        "resume",
        "reply",
        "reopen",
        "close",
        "merge_into",
        "mark_invalid",
        "classify",
        "note",
    }
)
HANDLER_MAY = frozenset(
    {"accept", "return_to_dispatch", "transfer", "request_info", "resume", "reply", "note"}
)
SUPERVISOR_MAY = HANDLER_MAY | {"reopen", "close", "classify"}


def expected_outcome(role: str, action: str, scope: str) -> str:
    if role == "outsider":
        return "not_found"
    if role == "admin":
        return "ok"
    if role == "leadership":
        return "forbidden"
    if role == "dispatcher":
        return "ok" if action in DISPATCHER_MAY else "forbidden"
    # Handlers and supervisors: another department's ticket is invisible, never forbidden.
    if scope == "other":
        return "not_found"
    allowed = HANDLER_MAY if role == "handler" else SUPERVISOR_MAY
    return "ok" if action in allowed else "forbidden"


MATRIX: dict[tuple[str, str, str], str] = {
    (role, action, scope): expected_outcome(role, action, scope)
    for role in ROLES
    for action in ACTIONS
    for scope in SCOPES
}

# The state a ticket must be in for each action to be allowed by the state machine.
STATE_FOR: dict[str, str] = {
    "acknowledge": "new",
    "assign": "acknowledged",
    "accept": "assigned",
    "return_to_dispatch": "assigned",
    "transfer": "in_progress",
    "request_info": "in_progress",
    "resume": "waiting_citizen",
    "reply": "in_progress",
    "reopen": "replied",
    "close": "replied",
    "merge_into": "in_progress",
    "mark_invalid": "new",
    "classify": "in_progress",
    "note": "in_progress",
}
# The state each action leaves the ticket in, when it succeeds.
STATE_AFTER: dict[str, str] = {
    "acknowledge": "acknowledged",
    "assign": "assigned",
    "accept": "in_progress",
    "return_to_dispatch": "acknowledged",
    "transfer": "assigned",
    "request_info": "waiting_citizen",
    "resume": "in_progress",
    "reply": "replied",
    "reopen": "in_progress",
    "close": "closed",
    "merge_into": "merged",
    "mark_invalid": "invalid",
    "classify": "in_progress",
    "note": "in_progress",
}


def test_it_covers_every_role_action_and_scope() -> None:
    assert len(MATRIX) == len(ROLES) * len(ACTIONS) * 2
    assert set(STATE_FOR) == set(ACTIONS) == set(STATE_AFTER)
    # A new transition service needs its rows here (and its place in the spec's role list).
    missing = set(services.TRANSITION_SERVICES) - set(ACTIONS)
    assert not missing, f"add {sorted(missing)} to the role matrix"


def _staff(username: str, role: str, department: Department | None, **extra: Any) -> Any:
    user = get_user_model().objects.create_user(username=username, first_name=username, **extra)
    StaffProfile.objects.create(user=user, role=role, department=department)
    return user


def _actor(role: str, scope: str, cast: dict[str, Any], departments: dict[str, Department]) -> Any:
    if role in ("handler", "supervisor"):
        return cast[f"{role}_{'a' if scope == 'own' else 'b'}"]
    if scope == "own":
        return cast[role]
    if role == "dispatcher":
        return _staff("dispatcher_b", Role.DISPATCHER, departments["b"])
    if role == "leadership":
        return _staff("leadership_b", Role.LEADERSHIP, departments["b"])
    if role == "admin":
        return _staff("admin_b", Role.HANDLER, departments["b"], is_superuser=True, is_staff=True)
    return AnonymousUser()


def _call(
    action: str, actor: Any, ticket: Ticket, other: Ticket, departments: dict[str, Department]
) -> Ticket:
    calls: dict[str, Callable[[], Ticket]] = {
        "acknowledge": lambda: services.ticket_acknowledge(actor=actor, ticket_id=ticket.pk),
        "assign": lambda: services.ticket_assign(
            actor=actor, ticket_id=ticket.pk, department_id=departments["a"].pk
        ),
        "accept": lambda: services.ticket_accept(actor=actor, ticket_id=ticket.pk),
        "return_to_dispatch": lambda: services.ticket_return(
            actor=actor, ticket_id=ticket.pk, reason="不属于本部门职责"
        ),
        "transfer": lambda: services.ticket_transfer(
            actor=actor, ticket_id=ticket.pk, department_id=departments["b"].pk, reason="属物业问题"
        ),
        "request_info": lambda: services.ticket_request_info(
            actor=actor, ticket_id=ticket.pk, question="请提供具体门牌号"
        ),
        "resume": lambda: services.ticket_resume(actor=actor, ticket_id=ticket.pk),
        "reply": lambda: services.ticket_reply(
            actor=actor, ticket_id=ticket.pk, content="已安排维修，路灯已恢复。"
        ),
        "reopen": lambda: services.ticket_reopen(
            actor=actor, ticket_id=ticket.pk, reason="市民表示路灯仍不亮"
        ),
        "close": lambda: services.ticket_close(actor=actor, ticket_id=ticket.pk),
        "merge_into": lambda: services.ticket_merge(
            actor=actor, ticket_id=ticket.pk, into_case_no=other.case_no
        ),
        "mark_invalid": lambda: services.ticket_mark_invalid(
            actor=actor, ticket_id=ticket.pk, reason="广告信息"
        ),
        "classify": lambda: services.ticket_classify(
            actor=actor, ticket_id=ticket.pk, urgency="urgent"
        ),
        "note": lambda: services.ticket_add_note(
            actor=actor, ticket_id=ticket.pk, text="已电话联系市民"
        ),
    }
    return calls[action]()


@pytest.mark.parametrize(
    ("role", "action", "scope"),
    [pytest.param(*key, id="-".join(key)) for key in MATRIX],
)
def test_it_applies_the_role_matrix(
    role: str,
    action: str,
    scope: str,
    cast: dict[str, Any],
    departments: dict[str, Department],
    make_ticket: Callable[..., Ticket],
) -> None:
    expected = MATRIX[(role, action, scope)]
    ticket = walk(make_ticket(department_code="a"), cast, departments, STATE_FOR[action])
    assert ticket.department_id == departments["a"].pk
    other = make_ticket("另一件：建设路路灯不亮。", department_code="a")
    actor = _actor(role, scope, cast, departments)
    version, events = ticket.version, ticket.events.count()

    if expected == "ok":
        result = _call(action, actor, ticket, other, departments)
        result.refresh_from_db()
        assert result.state == STATE_AFTER[action]
        assert result.version == version + 1
        last = TicketEvent.objects.filter(ticket=ticket).order_by("-id").first()
        assert last is not None and last.kind == action and last.actor_id == actor.pk
        return

    error: type[TicketError] = ActionForbidden if expected == "forbidden" else TicketNotFound
    with pytest.raises(TicketError) as excinfo:
        _call(action, actor, ticket, other, departments)
    # Exactly the expected kind: a 404 must never leak as a 403, nor the other way round.
    assert type(excinfo.value) is error, excinfo.value
    assert excinfo.value.status == (403 if expected == "forbidden" else 404)
    assert excinfo.value.message
    ticket.refresh_from_db()
    assert ticket.state == STATE_FOR[action]
    assert ticket.version == version
    assert ticket.events.count() == events


def test_it_lets_a_handler_act_on_a_section_below_but_not_above(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    in_section = make_ticket(department_code="a1")
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=in_section.pk)
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=in_section.pk, department_id=departments["a1"].pk
    )
    accepted = services.ticket_accept(actor=cast["handler_a"], ticket_id=in_section.pk)
    assert accepted.state == "in_progress" and accepted.assignee == cast["handler_a"]

    in_bureau = walk(make_ticket(department_code="a"), cast, departments, "assigned")
    with pytest.raises(TicketNotFound):
        services.ticket_accept(actor=cast["handler_a1"], ticket_id=in_bureau.pk)


def test_it_hides_a_ticket_once_it_is_transferred_away(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    ticket = walk(make_ticket(department_code="a"), cast, departments, "in_progress")
    services.ticket_transfer(
        actor=cast["handler_a"],
        ticket_id=ticket.pk,
        department_id=departments["b"].pk,
        reason="属物业问题",
    )
    with pytest.raises(TicketNotFound):
        services.ticket_add_note(actor=cast["handler_a"], ticket_id=ticket.pk, text="跟进")
    with pytest.raises(TicketNotFound):
        ticket_access(user=cast["handler_a"], ticket_id=ticket.pk)
    assert ticket_access(user=cast["handler_b"], ticket_id=ticket.pk).pk == ticket.pk


# --- reads ---------------------------------------------------------------------------------

VISIBLE: dict[str, set[str]] = {
    "dispatcher": {"a", "a1", "b", "b1", "none"},
    "leadership": {"a", "a1", "b", "b1", "none"},
    "admin": {"a", "a1", "b", "b1", "none"},
    "handler_a": {"a", "a1"},
    "supervisor_a": {"a", "a1"},
    "handler_a1": {"a1"},
    "handler_b": {"b", "b1"},
    "supervisor_b": {"b", "b1"},
    "outsider": set(),
}


@pytest.fixture
def spread(make_ticket: Callable[..., Ticket]) -> dict[str, Ticket]:
    """One ticket in each department of the cast, and one nobody has routed yet."""
    tickets = {
        code: make_ticket(f"{code} 部门的诉求：路面破损。", department_code=code)
        for code in ("a", "a1", "b", "b1")
    }
    tickets["none"] = make_ticket("尚未分派的诉求：噪音扰民。")
    assert tickets["none"].department_id is None
    return tickets


@pytest.mark.parametrize("who", list(VISIBLE))
def test_it_lists_only_the_tickets_a_user_may_see(
    who: str, cast: dict[str, Any], spread: dict[str, Ticket]
) -> None:
    listed = set(ticket_list_for_user(user=cast[who], limit=100).values_list("pk", flat=True))
    assert listed == {spread[code].pk for code in VISIBLE[who]}


@pytest.mark.parametrize("who", list(VISIBLE))
def test_it_gives_access_to_visible_tickets_and_404_for_the_rest(
    who: str, cast: dict[str, Any], spread: dict[str, Ticket]
) -> None:
    for code, ticket in spread.items():
        if code in VISIBLE[who]:
            assert ticket_access(user=cast[who], ticket_id=ticket.pk).pk == ticket.pk
            assert ticket_access(user=cast[who], case_no=ticket.case_no).pk == ticket.pk
        else:
            with pytest.raises(TicketNotFound):
                ticket_access(user=cast[who], ticket_id=ticket.pk)
            with pytest.raises(TicketNotFound):
                ticket_access(user=cast[who], case_no=ticket.case_no)


def test_it_shows_nothing_to_anonymous_or_inactive_users(
    cast: dict[str, Any], spread: dict[str, Ticket]
) -> None:
    handler = cast["handler_a"]
    handler.is_active = False
    handler.save()
    for user in (AnonymousUser(), handler, None):
        assert list(ticket_list_for_user(user=user)) == []
        with pytest.raises(TicketNotFound):
            ticket_access(user=user, ticket_id=spread["a"].pk)


def test_it_lets_a_handler_see_a_ticket_assigned_to_them_personally(
    cast: dict[str, Any], departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    # Bureau A's ticket, given by name to a handler of its section A1 (who would not see
    # bureau-level tickets otherwise).
    ticket = make_ticket(department_code="a")
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    services.ticket_assign(
        actor=cast["dispatcher"],
        ticket_id=ticket.pk,
        department_id=departments["a"].pk,
        assignee_id=cast["handler_a1"].pk,
    )
    assert ticket_access(user=cast["handler_a1"], ticket_id=ticket.pk).pk == ticket.pk
    listed = ticket_list_for_user(user=cast["handler_a1"]).values_list("pk", flat=True)
    assert ticket.pk in set(listed)
    accepted = services.ticket_accept(actor=cast["handler_a1"], ticket_id=ticket.pk)
    assert accepted.state == "in_progress" and accepted.assignee == cast["handler_a1"]
    with pytest.raises(TicketNotFound):
        ticket_access(user=cast["handler_b"], ticket_id=ticket.pk)
