"""The serving logic behind the routes: pick the model, check the request, try the cache, run the
rows on the model's engine, and hand back events or a finished result (vLLM's serving.py).

    serving = Serving(engines, cache, metrics, deadline=60)
    plan = await serving.start("tang", ["春"], params, n=2, seed=7)
    result = await serving.collect(plan, request)     # or: async for ev in serving.run(plan)
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.requests import Request

from service.cache import Cache, CacheError, cache_key, is_cacheable
from service.engine import Engine, Finish, Job, Piece
from service.metrics import Metrics
from textgen.errors import ConfigError
from textgen.sampling import Completion, SamplingParams

log = logging.getLogger("textgen.service")


class ModelNotFound(Exception):
    """The request names a model that is not loaded (404)."""


class ClientGone(Exception):
    """The client disconnected before its result was ready (nothing is sent back)."""


@dataclass
class Plan:
    """A started request: a cache hit, or rows queued on the engine (job). Cancel it when its
    client goes away, even before its events are read."""

    engine: Engine
    seed: int
    key: str | None  # None: not cacheable
    prompt_tokens: int
    hit: Result | None = None
    job: Job | None = None

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()


@dataclass
class Result:
    model: str
    seed: int
    cached: bool
    completions: list[Completion]
    prompt_tokens: int
    completion_tokens: int = field(init=False)

    def __post_init__(self) -> None:
        self.completion_tokens = sum(c.tokens for c in self.completions)


class Serving:
    def __init__(self, engines: dict[str, Engine], cache: Cache, metrics: Metrics, *, deadline: float):
        self.engines = engines
        self.cache = cache
        self.metrics = metrics
        self.deadline = deadline

    def engine(self, model: str | None) -> Engine:
        """The engine serving `model`; the only one when `model` is None."""
        if model is None:
            if len(self.engines) == 1:
                return next(iter(self.engines.values()))
            raise ConfigError(f"several models are loaded ({', '.join(self.engines)}): name one with 'model'")
        if model not in self.engines:
            raise ModelNotFound(f"model {model!r} is not loaded (loaded: {', '.join(self.engines)})")
        return self.engines[model]

    async def start(self, model: str | None, prompts: list[str], params: SamplingParams, *, n: int,
                    seed: int | None, stream: bool = False, timeout: float | None = None) -> Plan:  # fmt: skip
        """Look the request up in the cache and, on a miss, turn it into rows (Generator.new_rows:
        validated and encoded once, row r seeded with seed + r) and queue them. Every error a client
        can cause (ConfigError, TokenizerError, ModelNotFound, QueueFull) is raised here, before any
        response or stream starts. A hit needs no checking: only answered requests are stored."""
        engine = self.engine(model)
        gen = engine.generator
        cacheable = self.cache.enabled and engine.batch_invariant and is_cacheable(params, seed)
        key = cache_key(gen.digest, prompts, params, n, seed) if cacheable else None
        prompt_tokens = sum(len(gen.tokenizer.encode(p, unknown="skip")) for p in prompts)
        if key is not None:
            # Greedy text does not depend on the seed, so an unseeded greedy request may report any.
            reported = secrets.randbits(32) if seed is None else seed
            hit = await self.lookup(key, engine.name, prompt_tokens, reported, n)
            if hit is not None:
                return Plan(engine, reported, key, prompt_tokens, hit=hit)
        rows = gen.new_rows(prompts, params, n=n, seed=seed)
        deadline = min(timeout, self.deadline) if timeout else self.deadline
        return Plan(engine, rows[0].seed, key, prompt_tokens, job=engine.submit(rows, deadline, stream))

    async def lookup(
        self, key: str | None, model: str, prompt_tokens: int, seed: int, n: int
    ) -> Result | None:
        """The stored result under `key`, or None (miss, not cacheable, or cache failing). It is
        reported with this request's seed: greedy entries are shared by every seed."""
        if key is None:
            return None
        backend = self.cache.backend
        try:
            blob = await self.cache.get(key)
        except Exception as e:  # CacheError, or a bug in a backend: never fail the request
            self._cache_error(e)
            return None
        if blob is None:
            self.metrics.cache_misses.labels(backend=backend).inc()
            return None
        try:
            doc = json.loads(blob)
            comps = [
                Completion(c["text"], c["finish_reason"], c["tokens"], seed + r, title=c.get("title"))
                for r, c in enumerate(doc["completions"])
            ]
            if not all(
                isinstance(c.text, str) and isinstance(c.tokens, int) and isinstance(c.title, str | None)
                for c in comps
            ):
                raise TypeError("unexpected entry")
            hit = Result(model, seed, True, comps, prompt_tokens)
        except (ValueError, TypeError, KeyError):  # an entry this version cannot read: recompute it
            self.metrics.cache_misses.labels(backend=backend).inc()
            return None
        self.metrics.cache_hits.labels(backend=backend).inc()
        return hit

    async def store(self, plan: Plan, result: Result) -> None:
        if plan.key is None:
            return
        comps = [{"text": c.text, "finish_reason": c.finish_reason, "tokens": c.tokens, "title": c.title}
                 for c in result.completions]  # fmt: skip
        try:
            await self.cache.set(plan.key, json.dumps({"completions": comps}, ensure_ascii=False).encode())
        except Exception as e:
            self._cache_error(e)

    def _cache_error(self, e: Exception) -> None:
        if not isinstance(e, CacheError):  # RedisCache logs its own; anything else is a backend bug
            log.exception("cache %s failed; serving uncached", self.cache.backend)
            self.cache.last_error = f"{type(e).__name__}: {e}"[:200]
        self.cache.errors += 1
        self.metrics.cache_errors.labels(backend=self.cache.backend).inc()

    async def run(self, plan: Plan) -> AsyncIterator[Piece | Finish | Result]:
        """Events of every row (from the cache or the engine), then the Result."""
        if plan.hit is not None:
            for i, c in enumerate(plan.hit.completions):
                yield Piece(i, c.text)
                yield Finish(i, c)
            yield plan.hit
            return
        assert plan.job is not None
        comps: list[Completion | None] = [None] * len(plan.job.rows)
        try:
            async for event in plan.job.events():
                if isinstance(event, Finish):
                    comps[event.index] = event.completion
                yield event
        finally:
            plan.cancel()  # no-op once every row finished
        result = Result(plan.engine.name, plan.seed, False, comps, plan.prompt_tokens)  # type: ignore[arg-type]
        await self.store(plan, result)
        yield result

    async def collect(self, plan: Plan, request: Request | None = None) -> Result:
        """The finished result; ClientGone (and the rows cancelled) if the client disconnects first."""

        async def consume() -> Result:
            async for event in self.run(plan):
                if isinstance(event, Result):
                    return event
            raise AssertionError("run() ended without a result")

        if request is None:
            try:
                return await consume()
            finally:
                plan.cancel()
        work = asyncio.ensure_future(consume())
        watch = asyncio.ensure_future(_disconnected(request))
        done, _ = await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
        if work in done:
            watch.cancel()
            return work.result()
        work.cancel()
        plan.cancel()
        try:
            await work
        except asyncio.CancelledError:
            pass
        raise ClientGone()


async def _disconnected(request: Request) -> None:
    """Returns when the client closes the connection (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
