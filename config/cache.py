"""The Redis cache backend, with its connection pools shared by the whole process.

Django's ``RedisCache`` keeps its connection pool on the cache object, and the cache object
lives in a per-context local: under ASGI every request runs in a new context, so every request
built a new pool and opened a new Redis connection (the WeChat nonce check paid for a TCP
connect each time). Here the pools live at module level, one per server and options, and every
cache object of the process draws from them. redis-py's ``ConnectionPool`` is thread-safe and
notices a fork (Celery's prefork workers start with fresh connections).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_POOLS: dict[tuple[Any, ...], Any] = {}
_POOLS_LOCK = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    # Set by RedisCacheClient.__init__ (django-stubs does not declare them).
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]

    if TYPE_CHECKING:

        def _get_connection_pool_index(self, write: bool) -> int: ...

    def _get_connection_pool(self, write: bool) -> Any:
        index = self._get_connection_pool_index(write)
        key = (
            self._servers[index],
            self._pool_class,
            tuple(sorted((name, repr(value)) for name, value in self._pool_options.items())),
        )
        pool = _POOLS.get(key)
        if pool is None:
            with _POOLS_LOCK:
                pool = _POOLS.get(key)
                if pool is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    _POOLS[key] = pool
        return pool


class SharedPoolRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with process-wide connection pools."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
