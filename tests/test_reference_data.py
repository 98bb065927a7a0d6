"""Seeded reference data (working calendar, SLA policies) is there for every test, even after
a transactional test has flushed the database."""

import pytest

from sla.models import CalendarYear, SlaPolicy


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_sees_the_seeded_calendar():
    assert CalendarYear.objects.filter(year=2026).exists()


def test_the_next_test_still_sees_the_calendar_and_policies(db):
    assert CalendarYear.objects.filter(year=2026).exists()
    assert SlaPolicy.objects.count() == 7
