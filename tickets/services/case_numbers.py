"""Case numbers: YYYYMMDD of the receipt date (Asia/Shanghai) + a 6-digit daily sequence.

Two ways to take the next number, both one atomic upsert on the day's counter row
(PostgreSQL and SQLite both speak ``INSERT ... ON CONFLICT ... RETURNING``):

- **In the caller's transaction** (SQLite, the test suite, and PostgreSQL when
  ``CASE_NUMBERS_OWN_TRANSACTION`` is off): the counter row stays locked until the caller
  commits, so numbers have no gaps, but every intake of the day queues behind the previous
  one's remaining statements and its commit. A commit waits for the disk flush (3.5 ms on this
  machine's disk), so intake can never go faster than one commit after another.
- **In a transaction of its own** (PostgreSQL in production): the upsert runs in autocommit on
  a separate small connection pool, so the row is locked only for the statement itself, and
  intakes commit side by side (PostgreSQL flushes many commits at once). That pool's sessions
  use ``synchronous_commit = off``: the counter's commit does not wait for the disk. It is
  still never lost for a ticket that exists, because the ticket's own commit comes later in
  the write-ahead log and flushing it flushes everything before it; after a crash the counter
  holds at least every number a committed ticket carries, so a number is never handed out
  twice. The price is a gap when the intake that took a number rolls back (or a crash loses
  a number nobody committed): numbers stay unique and rising, not gapless. The pool connects
  with Django's own connection parameters; when it cannot serve within a few seconds, the
  number is taken in the caller's transaction instead (logged), so intake never stalls on it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from typing import Any

from django.conf import settings
from django.db import connection

from sla.clock import local_date
from tickets.models import CaseNumberCounter

MAX_PER_DAY = 999_999
POOL_TIMEOUT_SECONDS = 2  # waiting longer for a counter connection would stall the intake

logger = logging.getLogger(__name__)

_pool: Any = None
_pool_key: tuple[int, str] | None = None
_pool_lock = threading.Lock()


def _upsert_sql() -> str:
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    return (
        f"INSERT INTO {table} (day, last) VALUES (%s, 1) "
        f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last"
    )


def own_transaction() -> bool:
    return connection.vendor == "postgresql" and bool(
        getattr(settings, "CASE_NUMBERS_OWN_TRANSACTION", False)
    )


def _conninfo() -> str:
    """Django's own connection parameters (so OPTIONS such as sslmode, service, passfile or
    the session options apply here too), with asynchronous commit added to the options."""
    from psycopg.conninfo import make_conninfo

    params = dict(connection.get_connection_params())
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params["options"] = f"{params.get('options') or ''} -c synchronous_commit=off".strip()
    params["application_name"] = "minsheng-case-numbers"
    params.setdefault("connect_timeout", 5)
    return make_conninfo(**{key: value for key, value in params.items() if value is not None})


def counter_pool() -> Any:
    """The process's pool for the counter (made on first use; a forked child makes its own)."""
    global _pool, _pool_key
    from psycopg_pool import ConnectionPool

    conninfo = _conninfo()
    key = (os.getpid(), conninfo)
    pool = _pool
    if pool is None or _pool_key != key:
        with _pool_lock:
            if _pool is None or _pool_key != key:
                _pool = ConnectionPool(
                    conninfo,
                    min_size=1,
                    max_size=2,
                    kwargs={"autocommit": True},
                    name="case-numbers",
                    timeout=POOL_TIMEOUT_SECONDS,
                    check=ConnectionPool.check_connection,  # a server restart breaks none
                    open=True,
                )
                _pool_key = key
            pool = _pool
    return pool


def _next_in_own_transaction(day: dt.date) -> int | None:
    """The next number from the counter's own pool, or None when that pool cannot serve
    (the caller then numbers inside its own transaction, as SQLite does)."""
    from psycopg import Error as PsycopgError
    from psycopg_pool import PoolTimeout

    try:
        with counter_pool().connection() as conn:
            row = conn.execute(_upsert_sql(), [day]).fetchone()
    except (PoolTimeout, PsycopgError):
        logger.exception("case numbers: own transaction unavailable, numbering in the intake's")
        return None
    return int(row[0])


def _next_in_callers_transaction(day: dt.date) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [day])
        (sequence,) = cursor.fetchone()
    return int(sequence)


def case_number_next(*, received_at: dt.datetime) -> str:
    """Hand out the next number for the receipt day (see the module docstring for how)."""
    day = local_date(received_at)
    sequence = _next_in_own_transaction(day) if own_transaction() else None
    if sequence is None:
        sequence = _next_in_callers_transaction(day)
    if sequence > MAX_PER_DAY:
        raise OverflowError(f"more than {MAX_PER_DAY} cases received on {day}")
    return f"{day:%Y%m%d}{sequence:06d}"


def counter_pool_close() -> None:
    """Close the counter's pool (tests, before their database is dropped)."""
    global _pool, _pool_key
    with _pool_lock:
        if _pool is not None:
            _pool.close()
        _pool, _pool_key = None, None
