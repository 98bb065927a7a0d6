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
import time
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_POOLS: dict[tuple[Any, ...], Any] = {}
_POOLS_LOCK = threading.Lock()


class Circuit:
    """After a failure to reach a shared server, callers skip it for ``cool_down`` seconds
    instead of each paying a timeout (a hung Redis would otherwise cost every request its
    socket timeout, several times over). Process-wide; thread-safe enough (a race only means
    one more try)."""

    def __init__(self, cool_down: float = 15.0) -> None:
        self.cool_down = cool_down
        self.open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def failed(self) -> None:
        self.open_until = time.monotonic() + self.cool_down

    def reset(self) -> None:
        self.open_until = 0.0


class Circuits:
    """One circuit per Redis server: a server that is away must not stop calls to another."""

    def __init__(self) -> None:
        self._by_server: dict[str, Circuit] = {}

    def for_server(self, server: str) -> Circuit:
        circuit = self._by_server.get(server)
        if circuit is None:
            circuit = self._by_server.setdefault(server, Circuit())
        return circuit

    def reset(self) -> None:
        for circuit in list(self._by_server.values()):
            circuit.reset()


redis_circuit = Circuits()


class CacheUnavailable(ConnectionError):
    """The shared cache failed within the last few seconds: not tried again yet."""


def _guarded(name: str) -> Any:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        circuit = redis_circuit.for_server(self._servers[0])
        if not circuit.allows():
            raise CacheUnavailable("the shared cache failed moments ago")
        try:
            return getattr(RedisCacheClient, name)(self, *args, **kwargs)
        except Exception as exc:
            if _is_connection_error(exc):
                circuit.failed()
            raise

    call.__name__ = name
    return call


def _is_connection_error(exc: Exception) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError))


class SharedPoolRedisCacheClient(RedisCacheClient):
    # Set by RedisCacheClient.__init__ (django-stubs does not declare them).
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]

    if TYPE_CHECKING:

        def _get_connection_pool_index(self, write: bool) -> int: ...

    # Every call fails fast while the circuit is open (see Circuit).
    add = _guarded("add")
    get = _guarded("get")
    set = _guarded("set")
    touch = _guarded("touch")
    delete = _guarded("delete")
    get_many = _guarded("get_many")
    has_key = _guarded("has_key")
    incr = _guarded("incr")
    set_many = _guarded("set_many")
    delete_many = _guarded("delete_many")
    clear = _guarded("clear")

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


class FallbackCache:
    """The shared cache, or this process's own memory while the shared one cannot be reached.

    For counters whose loss is cheap (rate limits, throttles): with Redis away each process
    keeps counting on its own, so a limit still holds per process (fail open, never a 500).
    Replay checks, whose loss is not cheap, need no cache: they are the journal's own."""

    WARN_EVERY = 60.0  # seconds between two warnings in the log

    def __init__(self) -> None:
        from django.core.cache.backends.locmem import LocMemCache

        self._local = LocMemCache("minsheng-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})
        self._warned_at = 0.0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        from django.core.cache import cache

        try:
            return getattr(cache, name)(*args, **kwargs)
        except Exception:  # (fails at once while the shared cache's circuit is open)
            import logging
            import time

            now = time.monotonic()
            if now - self._warned_at > self.WARN_EVERY:
                self._warned_at = now
                logging.getLogger(__name__).warning(
                    "shared cache unavailable: counting in this process", exc_info=True
                )
            return getattr(self._local, name)(*args, **kwargs)

    def get(self, key: str, default: Any = None) -> Any:
        return self._call("get", key, default)

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        self._call("set", key, value, timeout)

    def add(self, key: str, value: Any, timeout: Any = None) -> bool:
        return bool(self._call("add", key, value, timeout))

    def delete(self, key: str) -> None:
        self._call("delete", key)


fallback_cache = FallbackCache()
