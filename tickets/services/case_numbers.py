"""Case numbers: YYYYMMDD of the receipt date (Asia/Shanghai) + a 6-digit daily sequence."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from sla.clock import local_date
from tickets.models import CaseNumberCounter

MAX_PER_DAY = 999_999


def case_number_next(*, received_at: dt.datetime) -> str:
    """Hand out the next number for the receipt day.

    One atomic upsert (PostgreSQL and SQLite both speak ON CONFLICT ... RETURNING): the counter
    row stays locked until the caller's transaction ends, so parallel intakes queue on it and
    never see the same number.
    """
    day = local_date(received_at)
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        (sequence,) = cursor.fetchone()
    if sequence > MAX_PER_DAY:
        raise OverflowError(f"more than {MAX_PER_DAY} cases received on {day}")
    return f"{day:%Y%m%d}{sequence:06d}"
