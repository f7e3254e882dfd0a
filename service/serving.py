"""The serving logic behind the routes: pick the model, check the request once, try the cache, join
an identical request in flight or run the rows on the model's engine, and hand back events or a
finished result (vLLM's serving.py).

    serving = Serving(engines, cache, metrics, deadline=60)
    plan = await serving.start("tang", SamplingRequest(["春"], params, n=2, seed=7))
    result = await serving.collect(plan, request)     # or: async for ev in serving.run(plan)

Single flight: reproducible requests (a seed, or greedy) that are identical, keyed like the cache,
share one computation while it runs. Each request that joins replays what the rows have sent so far
and follows the rest under its own deadline; the rows stop only when every request has left.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from starlette.requests import Request

from service.cache import Cache, CacheError, cache_key
from service.engine import DeadlineExceeded, Engine, Finish, Job, Piece
from service.metrics import Metrics
from textgen.errors import ConfigError
from textgen.sampling import Completion
from textgen.sampling.params import SERVICE, SamplingRequest

log = logging.getLogger("textgen.service")


class ModelNotFound(Exception):
    """The request names a model that is not loaded (404)."""


class ClientGone(Exception):
    """The client disconnected before its result was ready (nothing is sent back)."""


class Flight:
    """One job's rows, shared by the identical requests that join it: every event is kept, so a
    request that joins late replays them; the rows are cancelled once every request has left."""

    def __init__(self, job: Job, store: Callable[[list[Completion]], Awaitable[None]],
                 forget: Callable[[Flight], None]):  # fmt: skip
        self.job = job
        self.events: list[Piece | Finish] = []
        self.finished = 0  # rows
        self.error: Exception | None = None
        self.done = False
        self.members = 0
        self._changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._pump(store, forget))

    async def _pump(self, store: Callable[[list[Completion]], Awaitable[None]],
                    forget: Callable[[Flight], None]) -> None:  # fmt: skip
        comps: list[Completion | None] = [None] * len(self.job.rows)
        try:
            async for event in self.job.events():
                if isinstance(event, Finish):
                    comps[event.index] = event.completion
                    self.finished += 1
                self.events.append(event)
                self._wake()
            await store(comps)  # type: ignore[arg-type]  # before the flight is forgotten: no gap
        except Exception as e:  # DeadlineExceeded (the server's), EngineError: every member gets it
            self.error = e
        finally:  # cancelled too (every member left)
            self.done = True
            forget(self)
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def join(self) -> None:
        self.members += 1

    def leave(self, reason: str) -> None:
        self.members -= 1
        if self.members == 0 and not self.done and self.finished < len(self.job.rows):
            self.job.cancel(reason)
            self._task.cancel()

    async def follow(self, deadline: float) -> AsyncIterator[Piece | Finish]:
        """Every event from the first; DeadlineExceeded once `deadline` (monotonic) has passed."""
        i = 0
        while True:
            while i < len(self.events):
                yield self.events[i]
                i += 1
            if self.done:
                if self.error is not None:
                    raise self.error
                return
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                raise DeadlineExceeded("the request did not finish before its deadline") from None


@dataclass
class Plan:
    """A started request: a cache hit, or a flight of rows on the engine it shares with identical
    requests. Cancel it when its client goes away, even before its events are read."""

    engine: Engine
    seed: int
    key: str | None  # None: not reproducible, never cached nor shared
    prompt_tokens: int
    deadline: float  # time.monotonic() when the request gives up (504)
    hit: Result | None = None
    flight: Flight | None = None
    left: bool = False

    def cancel(self, reason: str = "disconnect") -> None:
        if self.flight is not None and not self.left:
            self.left = True
            self.flight.leave(reason)


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
        self.flights: dict[str, Flight] = {}  # by key: the reproducible requests in flight

    def engine(self, model: str | None) -> Engine:
        """The engine serving `model`; the only one when `model` is None."""
        if model is None:
            if len(self.engines) == 1:
                return next(iter(self.engines.values()))
            raise ConfigError(f"several models are loaded ({', '.join(self.engines)}): name one with 'model'")
        if model not in self.engines:
            raise ModelNotFound(f"model {model!r} is not loaded (loaded: {', '.join(self.engines)})")
        return self.engines[model]

    async def start(self, model: str | None, request: SamplingRequest, *, stream: bool = False,
                    timeout: float | None = None) -> Plan:  # fmt: skip
        """Check the request once (Generator.prepare, within SERVICE's limits: prompts encoded once),
        then answer it from the cache, from an identical request in flight, or from new rows on the
        engine. Every error a client can cause (ConfigError, TokenizerError, ModelNotFound,
        QueueFull) is raised here, before any response or stream starts."""
        engine = self.engine(model)
        gen = engine.generator
        prepared = gen.prepare(request, limits=SERVICE)
        deadline = time.monotonic() + (min(timeout, self.deadline) if timeout else self.deadline)
        request = prepared.request  # with the model's generation defaults filled in
        key = cache_key(gen.digest, request) if engine.batch_invariant and request.reproducible else None
        plan = Plan(engine, prepared.seed, key, prepared.prompt_tokens, deadline)
        if key is not None and key not in self.flights:
            # A hit is reported with this request's seed: greedy entries are shared by every seed.
            plan.hit = await self.lookup(key, engine.name, prepared.prompt_tokens, prepared.seed)
            if plan.hit is not None:
                return plan
        flight = self.flights.get(key) if key is not None else None  # again: the lookup awaited
        if flight is not None:
            self.metrics.coalesced.labels(model=engine.name).inc()
        else:
            # The job may run to the server's deadline: each request gives up at its own.
            job = engine.submit(gen.rows(prepared), self.deadline, stream)
            flight = Flight(job, partial(self.store, key), partial(self._forget, key))
            if key is not None:
                self.flights[key] = flight
        flight.join()
        plan.flight = flight
        return plan

    def _forget(self, key: str | None, flight: Flight) -> None:
        if key is not None and self.flights.get(key) is flight:
            del self.flights[key]

    async def lookup(self, key: str, model: str, prompt_tokens: int, seed: int) -> Result | None:
        """The stored result under `key`, or None (miss, caching off, or cache failing). It is
        reported with this request's seed: greedy entries are shared by every seed."""
        if not self.cache.enabled:
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
            comps = [Completion.from_dict(c, seed=seed + r) for r, c in enumerate(doc["completions"])]
            hit = Result(model, seed, True, comps, prompt_tokens)
        except (ValueError, TypeError, KeyError):  # an entry this version cannot read: recompute it
            self.metrics.cache_misses.labels(backend=backend).inc()
            return None
        self.metrics.cache_hits.labels(backend=backend).inc()
        return hit

    async def store(self, key: str | None, completions: list[Completion]) -> None:
        if key is None or not self.cache.enabled:
            return
        doc = {"completions": [c.to_dict(echo=False) for c in completions]}
        try:
            await self.cache.set(key, json.dumps(doc, ensure_ascii=False).encode())
        except Exception as e:
            self._cache_error(e)

    def _cache_error(self, e: Exception) -> None:
        if not isinstance(e, CacheError):  # RedisCache logs its own; anything else is a backend bug
            log.exception("cache %s failed; serving uncached", self.cache.backend)
            self.cache.last_error = f"{type(e).__name__}: {e}"[:200]
        self.cache.errors += 1
        self.metrics.cache_errors.labels(backend=self.cache.backend).inc()

    async def run(self, plan: Plan) -> AsyncIterator[Piece | Finish | Result]:
        """Events of every row (from the cache or the flight), then the Result. A row whose text
        came without pieces (it joined a flight that does not stream) sends it as one piece."""
        if plan.hit is not None:
            for i, c in enumerate(plan.hit.completions):
                yield Piece(i, c.text)
                yield Finish(i, c)
            yield plan.hit
            return
        assert plan.flight is not None
        comps: list[Completion | None] = [None] * len(plan.flight.job.rows)
        pieces: set[int] = set()
        try:
            async for event in plan.flight.follow(plan.deadline):
                if isinstance(event, Piece):
                    pieces.add(event.index)
                elif event.index not in pieces and event.completion.text:
                    yield Piece(event.index, event.completion.text)
                if isinstance(event, Finish):
                    comps[event.index] = event.completion
                yield event
        except DeadlineExceeded:
            plan.cancel("deadline")
            raise
        finally:
            plan.cancel()  # no-op once it left or every row finished
        yield Result(plan.engine.name, plan.seed, False, comps, plan.prompt_tokens)  # type: ignore[arg-type]

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
