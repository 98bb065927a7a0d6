"""The case look-up code (查询码) is read over the phone: no look-alike characters, no case to
get wrong, and the look-up forgives spaces, dashes and lower case."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tickets.models import Ticket
from tickets.models.ticket import new_query_code, query_code_display
from tickets.services.citizen import ticket_for_citizen

LOOK_ALIKES = set("0O1lIoi")


def test_it_makes_codes_without_look_alike_characters() -> None:
    codes = {new_query_code() for _ in range(5000)}
    assert len(codes) == 5000
    used = set("".join(codes))
    assert not used & LOOK_ALIKES
    assert all(len(code) == 12 and code == code.upper() and code.isalnum() for code in codes)
    # Every symbol of the alphabet turns up: nothing else narrows it.
    assert used == set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")


def test_it_shows_a_code_in_groups_of_four() -> None:
    assert query_code_display("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"
    assert query_code_display("aB-1xYz_9") == "aB-1xYz_9"  # an older code, as it is


@pytest.mark.parametrize(
    "typed",
    ["{code}", "{lower}", "{grouped}", " {spaced} ", "{grouped_lower}"],
)
def test_the_look_up_forgives_spaces_dashes_and_lower_case(make_ticket: Any, typed: str) -> None:
    ticket = make_ticket()
    code = ticket.query_code
    given = typed.format(
        code=code,
        lower=code.lower(),
        grouped=query_code_display(code),
        spaced=" ".join([code[:4], code[4:8], code[8:]]),
        grouped_lower=query_code_display(code).lower(),
    )
    assert ticket_for_citizen(case_no=ticket.case_no, query_code=given) == ticket


def test_a_wrong_code_finds_nothing(make_ticket: Any) -> None:
    ticket = make_ticket()
    wrong = ("2" if ticket.query_code[0] != "2" else "3") + ticket.query_code[1:]
    assert ticket_for_citizen(case_no=ticket.case_no, query_code=wrong) is None
    assert ticket_for_citizen(case_no="20990101000001", query_code=ticket.query_code) is None


def test_a_code_made_before_keeps_working_exactly_as_it_was_given(make_ticket: Any) -> None:
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(query_code="aB3-xYz_9Qk0")
    assert ticket_for_citizen(case_no=ticket.case_no, query_code="aB3-xYz_9Qk0") == ticket
    # Its case and dashes are part of it.
    assert ticket_for_citizen(case_no=ticket.case_no, query_code="AB3-XYZ_9QK0") is None
    assert ticket_for_citizen(case_no=ticket.case_no, query_code="aB3xYz_9Qk0") is None


def test_a_citizen_files_reads_the_grouped_code_and_looks_the_case_up_in_lower_case(
    client: Client, categories: Any
) -> None:
    from tests.integrations.test_website import case_form

    response = client.post("/", case_form(), follow=True)
    html = response.content.decode()
    ticket = Ticket.objects.get()
    shown = query_code_display(ticket.query_code)
    assert f'<strong class="mono" id="query-code">{shown}</strong>' in html
    found = client.post(
        "/track/", {"case_no": ticket.case_no, "query_code": shown.lower()}, follow=True
    )
    assert found.status_code == 200 and "建设路路灯不亮" in found.content.decode()
