"""The redaction table (``redaction_cases``): realistic sentences, what must be masked and what
must not change; and the share of each that the rules get right over the whole table."""

from __future__ import annotations

import pytest

from tests.tickets.redaction_cases import (
    ALL_MASKED,
    ALL_UNCHANGED,
    KNOWN_MISSES,
    NEW_MASKED,
    NEW_UNCHANGED,
    Case,
    citizen_of,
    shares,
)
from tickets.redaction import highlight_masked, highlight_original, redact
from tickets.redaction.checks import id15_valid, id18_valid, luhn_valid


def _params(cases: list[Case] | list[str], prefix: str) -> list[object]:
    out = []
    for index, case in enumerate(cases):
        text = case if isinstance(case, str) else case[0]
        marks = (
            [pytest.mark.xfail(strict=True, reason="known miss (see KNOWN_MISSES)")]
            if text in KNOWN_MISSES
            else []
        )
        out.append(pytest.param(case, id=f"{prefix}-{index}", marks=marks))
    return out


@pytest.mark.parametrize("case", _params(ALL_MASKED, "masked"))
def test_it_masks_personal_data(case: Case) -> None:
    assert redact(case[0], names=[citizen_of(case)]).text == case[1]


@pytest.mark.parametrize("text", _params(ALL_UNCHANGED, "unchanged"))
def test_it_leaves_ordinary_text_alone(text: str) -> None:
    result = redact(text, names=["王建国"])
    assert result.text == text, result.masks
    assert not result.changed


def test_it_has_a_big_enough_table() -> None:
    assert len(ALL_MASKED) + len(ALL_UNCHANGED) >= 200
    # Issue 14: at least 100 sentences the first rules had never seen, half without any
    # personal data.
    assert len(NEW_MASKED) + len(NEW_UNCHANGED) >= 100
    assert len(NEW_UNCHANGED) >= 50


def test_it_reports_the_shares_over_the_whole_table(capsys: pytest.CaptureFixture[str]) -> None:
    measured = shares(ALL_MASKED, ALL_UNCHANGED)
    with capsys.disabled():
        print("\nredaction over the whole table:\n  " + "\n  ".join(measured.lines()))
    # Every item is masked except those in the known misses (one name in one sentence).
    assert measured.pii_items - measured.pii_masked == len(KNOWN_MISSES)
    assert measured.pii_sentences - measured.pii_sentences_exact == len(KNOWN_MISSES)
    assert measured.plain_kept == measured.plain_sentences


def test_it_rejects_a_wrong_id_check_digit() -> None:
    assert id18_valid("420102199003071232")
    assert not id18_valid("420102199003071233")
    assert not id18_valid("420102199013071232")  # month 13
    assert id15_valid("420102780215301")
    assert not id15_valid("990102780215301")  # no such province
    assert redact("证号420102199003071233").text == "证号420102199003071233"


def test_it_checks_bank_cards_with_luhn() -> None:
    assert luhn_valid("6222021234567890128")
    assert not luhn_valid("6222021234567890129")
    # Far from a word that names a card, a number that fails Luhn stays.
    assert redact("流水号6222021234567890129").text == "流水号6222021234567890129"
    assert redact("流水号6222021234567890128").text == "流水号[银行卡号]"


def test_it_reports_where_each_mask_came_from() -> None:
    text = "王先生的电话13812345678"
    result = redact(text)
    assert [(mask.kind, text[mask.start : mask.end]) for mask in result.masks] == [
        ("name", "王先生"),
        ("phone", "13812345678"),
    ]
    assert result.counts() == {"name": 1, "phone": 1}


def test_it_highlights_masks_for_the_reviewer() -> None:
    text = "<b>王先生</b>电话13812345678"
    result = redact(text)
    original = highlight_original(text, result.masks)
    assert "&lt;b&gt;" in original
    assert '<mark class="masked" data-kind="name" title="姓名">王先生</mark>' in original
    assert highlight_masked(result.text) == (
        '&lt;b&gt;<mark class="mask">[姓名]</mark>&lt;/b&gt;电话<mark class="mask">[电话]</mark>'
    )


def test_it_handles_empty_text() -> None:
    assert redact("").text == ""
    assert not redact("", names=[""]).changed
