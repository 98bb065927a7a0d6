"""The Redis cache keeps one connection pool per process (config/cache.py): under ASGI every
request runs in a new context, with a cache object of its own, and each used to open a new
Redis connection (issue 8, W1: the WeChat nonce check then lived in Redis)."""

from __future__ import annotations

import contextvars
import os
import threading
import uuid
from typing import Any

import pytest
from django.core.cache import cache, caches

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="needs Redis: run with REDIS_URL=redis://..."
    ),
]


def pool_of_this_context() -> Any:
    return caches["default"]._cache._get_connection_pool(True)  # type: ignore[attr-defined]


def test_requests_in_new_contexts_share_one_pool_and_one_connection() -> None:
    first = contextvars.Context().run(pool_of_this_context)
    created = first._created_connections

    def one_request() -> Any:
        key = f"pool-test:{uuid.uuid4().hex}"
        assert cache.add(key, 1, timeout=60) is True
        assert cache.add(key, 1, timeout=60) is False  # one shared store, whatever the context
        return pool_of_this_context()

    pools = {id(contextvars.Context().run(one_request)) for _ in range(20)}
    assert pools == {id(first)}
    assert first._created_connections <= max(created, 1)


def test_threads_share_the_pool() -> None:
    seen: list[Any] = []

    def run() -> None:
        seen.append(contextvars.Context().run(pool_of_this_context))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(pool) for pool in seen}) == 1
