"""Completion cache: an in-process LRU with TTL (the default) or Redis (`REDIS_URL`).

Only reproducible requests are cached (a seed was given, or temperature 0), under a key that covers
the weights digest and every field that changes the output, so retrained weights never serve stale
text. A backend failure raises CacheError; the caller serves uncached and counts it. The Redis
backend gives up after `timeout` seconds per operation and then leaves Redis alone for `retry`
seconds, so a dead or slow Redis costs at most one short timeout now and then.

    cache = RedisCache("redis://localhost:6379/0", ttl=3600)   # or MemoryCache(ttl=3600), NullCache(0)
    key = cache_key(digest, prompt, params, n, seed)
    await cache.set(key, b"...")
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections import OrderedDict

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from textgen.sampling import SamplingParams

KEY_PREFIX = "textgen:completion:v1:"


class CacheError(Exception):
    """The cache backend could not be used for this operation."""


def is_cacheable(params: SamplingParams, seed: int | None) -> bool:
    """Only requests whose output is fixed by their fields: a seed, or greedy decoding."""
    return seed is not None or params.temperature == 0


def cache_key(digest: str, prompt: str | list[str], params: SamplingParams, n: int, seed: int | None) -> str:
    """sha256 over the weights digest and every output-changing field (all of SamplingParams)."""
    fields = dataclasses.asdict(params)
    fields["stop"] = list(params.stop)
    # Greedy output does not depend on the seed, so every seed shares one entry.
    doc = {
        "digest": digest,
        "prompt": prompt,
        "params": fields,
        "n": n,
        "seed": None if params.temperature == 0 else seed,
    }
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()
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
    """Redis via redis-py's asyncio client, with short timeouts and a back-off after errors."""

    backend = "redis"

    def __init__(self, url: str, ttl: int = 86400, *, timeout: float = 0.1, retry: float = 5.0):
        super().__init__(ttl)
        self.url = url
        self.retry = retry
        self._skip_until = 0.0
        self._client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 0),  # fail fast: a retry would double the worst-case delay
            health_check_interval=0,
        )

    async def _call(self, op: str, *args: object, **kwargs: object) -> object:
        if time.monotonic() < self._skip_until:
            raise CacheError(f"redis skipped after an error: {self.last_error}")
        try:
            result = await getattr(self._client, op)(*args, **kwargs)
        except (RedisError, OSError, TimeoutError) as e:
            self.last_error = f"{type(e).__name__}: {e}"[:200]
            self._skip_until = time.monotonic() + self.retry
            # Drop pooled connections: after a restart they are dead and would fail once more each.
            await self._client.connection_pool.disconnect(inuse_connections=True)
            raise CacheError(self.last_error) from e
        self.last_error = None
        return result

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
        await self._client.aclose()
