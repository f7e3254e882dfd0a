"""Completion cache: an in-process LRU with TTL (the default) or Redis (`REDIS_URL`).

Only reproducible requests are cached (a seed was given, or temperature 0), under a key that covers
the weights digest and the request's canonical form (SamplingRequest.canonical(): every field that
changes the output), so retrained weights never serve stale text. A cache never fails a request: any backend failure raises CacheError, and the caller serves
uncached and counts it.

The Redis backend borrows connections from a bounded pool (a burst waits for a free connection
instead of opening one per request), gives up after `timeout` seconds per operation, and after a
failure leaves Redis alone for a back-off that starts at `retry_min` and doubles while failures
repeat slowly (timeouts), up to `retry` seconds; one success resets it. So a hung Redis costs one
timeout now and then, a refused connection (Redis down or restarting) is retried every `retry_min`,
and one slow answer under load costs a quarter second of caching, not seconds.

    cache = RedisCache("redis://localhost:6379/0", ttl=3600)   # or MemoryCache(ttl=3600), NullCache(0)
    key = cache_key(digest, SamplingRequest("春", params, n=2, seed=7))
    await cache.set(key, b"...")
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from textgen.sampling.params import SamplingRequest

KEY_PREFIX = "textgen:completion:v1:"
log = logging.getLogger("textgen.service")


class CacheError(Exception):
    """The cache backend could not be used for this operation."""


def cache_key(digest: str, request: SamplingRequest) -> str:
    """sha256 over the weights digest and the request's canonical form (every field that changes
    the output; greedy requests share one entry whatever their seed)."""
    doc = {"digest": digest, **request.canonical()}
    # surrogatepass: the schema refuses lone surrogates, but a key must never be what fails.
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return KEY_PREFIX + hashlib.sha256(blob).hexdigest()


class Cache:
    """Interface: bytes in, bytes out, entries expire after `ttl` seconds."""

    backend = "none"
    enabled = True

    def __init__(self, ttl: int):
        self.ttl = ttl
        self.errors = 0  # failed operations since start (counted by the caller, for /health)
        self.last_error: str | None = None

    async def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    async def set(self, key: str, value: bytes) -> None:
        raise NotImplementedError

    async def ping(self) -> bool:
        """True if the backend answers now (for /health)."""
        return True

    async def close(self) -> None:
        pass


class NullCache(Cache):
    """Caching turned off (TEXTGEN_CACHE=false): every lookup misses, nothing is stored."""

    backend = "none"
    enabled = False

    async def get(self, key: str) -> bytes | None:
        return None

    async def set(self, key: str, value: bytes) -> None:
        pass


class MemoryCache(Cache):
    """Least-recently-used dict with per-entry expiry; lives on the event loop, so no locking."""

    backend = "memory"

    def __init__(self, ttl: int = 86400, max_entries: int = 4096):
        super().__init__(ttl)
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes) -> None:
        self._data[key] = (time.monotonic() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class RedisCache(Cache):
    """Redis via redis-py's asyncio client: a bounded connection pool, timeouts, and a back-off."""

    backend = "redis"

    def __init__(self, url: str, ttl: int = 86400, *, timeout: float = 1.0, retry: float = 5.0,
                 retry_min: float = 0.25, max_connections: int = 32):  # fmt: skip
        super().__init__(ttl)
        self.url = url
        self.timeout = timeout
        self.retry = retry
        self.retry_min = min(retry_min, retry)
        self._skip_until = 0.0
        self._tripped = float("-inf")  # when the back-off last started
        self._failures = 0  # slow failures in a row (calls started after the last trip)
        # A blocking pool: under a burst, requests queue for one of `max_connections` connections
        # (at most `timeout` s) instead of each opening its own. A failed connection is closed by
        # redis-py itself; the pool is never torn down under requests that are still using it.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # fail fast: a retry would double the worst-case delay
            health_check_interval=0,
        )
        self._client = aioredis.Redis(connection_pool=pool)

    async def _call(self, op: str, *args: object, **kwargs: object) -> object:
        started = time.monotonic()
        if started < self._skip_until:
            raise CacheError(f"redis skipped after an error: {self.last_error}")
        try:
            result = await getattr(self._client, op)(*args, **kwargs)
        except Exception as e:  # whatever redis-py raises, a cache never fails a request
            self._failed(e, started)
            raise CacheError(self.last_error) from e
        self._failures = 0
        self.last_error = None
        return result

    def _failed(self, e: Exception, started: float) -> None:
        self.last_error = f"{type(e).__name__}: {e}"[:200]
        expected = isinstance(e, (RedisError, OSError, TimeoutError))
        if started < self._tripped:
            return  # in flight when an earlier failure started the back-off: same episode
        now = time.monotonic()
        # A refused connection fails at once and costs nothing, so Redis is tried again soon (and
        # caching resumes right after a restart); a failure that took a timeout backs off longer.
        slow = now - started >= self.timeout / 2
        self._failures = self._failures + 1 if slow else 1
        wait = min(self.retry, self.retry_min * 2 ** (self._failures - 1))
        self._tripped = now
        self._skip_until = now + wait
        if expected:
            log.warning("redis cache failed (%s); skipping it for %.2g s", self.last_error, wait)
        else:  # not a network error: a bug somewhere, so keep the traceback
            log.exception("redis cache failed unexpectedly; skipping it for %.2g s", wait)

    async def get(self, key: str) -> bytes | None:
        return await self._call("get", key)  # type: ignore[return-value]

    async def set(self, key: str, value: bytes) -> None:
        await self._call("set", key, value, ex=self.ttl)

    async def ping(self) -> bool:
        # /health probes Redis itself even during the back-off, so it shows recovery at once.
        self._skip_until = 0.0
        try:
            await self._call("ping")
        except CacheError:
            return False
        return True

    async def close(self) -> None:
        try:
            await self._client.aclose()
            await self._client.connection_pool.disconnect()
        except Exception:  # closing a cache whose server is gone is not an error worth raising
            log.debug("closing the redis cache failed", exc_info=True)
