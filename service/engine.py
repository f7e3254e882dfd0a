"""Continuous batching: one engine per model, one forward step per token for all running rows.

Requests become rows (one per completion) that wait in a bounded queue, join the running batch
between two steps, and leave it when they finish or are cancelled (client gone, deadline passed).
The blocking model work (batch.add / step / remove) runs in the engine's own worker thread; the
event loop only moves rows and text pieces around, so HTTP stays responsive while the model runs.

    engine = Engine("tang", generator, max_batch_size=64, max_queue=256)
    await engine.start()
    job = engine.submit(generator.new_rows("春", params, n=2, seed=7), deadline=60)
    async for event in job.events():      # Piece(index, text) ... Finish(index, completion)
        ...
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from service.metrics import Metrics
from textgen.sampling import Completion, Generator

log = logging.getLogger("textgen.service")


class QueueFull(Exception):
    """Too many rows waiting: the client should retry after `retry_after` seconds (429)."""

    def __init__(self, model: str, retry_after: int):
        super().__init__(f"model {model!r} is busy: its queue is full, retry in {retry_after} s")
        self.retry_after = retry_after


class DeadlineExceeded(Exception):
    """The request did not finish within its deadline (504)."""


class EngineError(Exception):
    """The model failed while stepping this request's rows (500, logged)."""


@dataclass
class Piece:
    index: int
    text: str


@dataclass
class Finish:
    index: int
    completion: Completion


@dataclass(eq=False)
class Row:
    seq: Any  # textgen.sampling Sequence
    job: Job
    index: int
    enqueued: float = field(default_factory=time.monotonic)


class Job:
    """One request's rows and the queue of events the engine sends back for them."""

    def __init__(self, engine: Engine, seqs: list[Any], deadline: float, stream: bool = True):
        self.engine = engine
        self.stream = stream  # False: only Finish events (saves the event loop a wake-up per token)
        self.rows = [Row(seq, self, i) for i, seq in enumerate(seqs)]
        self.deadline = time.monotonic() + deadline
        self.cancelled = False
        self._open = len(seqs)
        self._queue: asyncio.Queue[Piece | Finish | BaseException] = asyncio.Queue()

    def put(self, event: Piece | Finish | BaseException) -> None:
        if not self.cancelled:
            self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[Piece | Finish]:
        """Pieces and finishes of every row until all rows finish; DeadlineExceeded when late."""
        while self._open:
            try:
                event = await asyncio.wait_for(self._queue.get(), self.deadline - time.monotonic())
            except TimeoutError:
                self.cancel("deadline")
                raise DeadlineExceeded("the request did not finish before its deadline") from None
            if isinstance(event, BaseException):
                raise event
            if isinstance(event, Finish):
                self._open -= 1
            yield event

    def cancel(self, reason: str = "disconnect") -> None:
        """Stop this job's unfinished rows (the engine removes them before its next step)."""
        if self.cancelled or not self._open:
            return
        self.cancelled = True
        self.engine._on_cancel(self, reason)


class Engine:
    """Schedules one model's rows; see the module docstring."""

    def __init__(self, name: str, generator: Generator, *, max_batch_size: int = 64,
                 max_queue: int = 256, metrics: Metrics | None = None):  # fmt: skip
        self.name = name
        self.generator = generator
        self.max_batch_size = max_batch_size
        self.max_queue = max_queue
        self.metrics = metrics or Metrics()
        self.batch = generator.new_batch()
        # int8 quantizes activations per batch (textgen/sampling/fast.py), so a row's text depends on
        # its neighbours: the same seed is not the same text under load, and such text is not cached.
        self.batch_invariant = getattr(generator, "quantize", None) != "int8"
        self.max_batch_seen = 0
        self._waiting: collections.deque[Row] = collections.deque()
        self._running: dict[int, Row] = {}  # id(seq) -> row (sequences need not be hashable)
        self._to_remove: list[Row] = []
        # When rows finished lately (monotonic seconds): the rate behind 429's Retry-After.
        self._finished: collections.deque[float] = collections.deque(maxlen=512)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        # One thread per model: the batch is only ever touched from it, so it needs no lock.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"engine-{name}")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"engine-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    @property
    def queued(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, seqs: list[Any], deadline: float, stream: bool = True) -> Job:
        """Queue new rows; QueueFull when the waiting rows would exceed max_queue."""
        excess = len(self._waiting) + len(seqs) - self.max_queue
        if excess > 0:
            raise QueueFull(self.name, retry_after=self.retry_after(excess))
        job = Job(self, seqs, deadline, stream)
        self._waiting.extend(job.rows)
        self.metrics.queue_depth.labels(model=self.name).set(len(self._waiting))
        self._wake.set()
        return job

    def retry_after(self, rows: int, window: float = 30.0) -> int:
        """Seconds until about `rows` more rows have left the queue, at the rate rows finished over
        the last `window` seconds (each finish lets a waiting row in); 1 to 60."""
        now = time.monotonic()
        recent = [t for t in self._finished if now - t <= window]
        if len(recent) < 2:
            return 1 if not self._running else 5
        rate = len(recent) / max(now - recent[0], 1e-3)
        return max(1, min(60, math.ceil(rows / rate)))

    def _on_cancel(self, job: Job, reason: str) -> None:
        self.metrics.cancelled.labels(model=self.name, reason=reason).inc(job._open)
        self._to_remove.extend(r for r in job.rows if id(r.seq) in self._running)
        self._wake.set()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._running and not self._waiting and not self._to_remove:
                self._wake.clear()
                await self._wake.wait()
            remove, self._to_remove = self._to_remove, []
            for row in remove:
                self._running.pop(id(row.seq), None)
            add = self._admit()
            start = time.perf_counter()
            try:
                failed, events, stepped = await loop.run_in_executor(self._executor, self._step, add, remove)
            except Exception as e:  # a bug in the model code: fail the running rows, keep serving
                log.exception("engine %s: step failed", self.name)
                self._fail_all(EngineError(f"generation failed ({type(e).__name__})"))
                continue
            self.metrics.step_time.labels(model=self.name).observe(time.perf_counter() - start)
            for row, err in failed:
                self._running.pop(id(row.seq), None)
                row.job.put(err)
            self._deliver(events, stepped)

    def _admit(self) -> list[Row]:
        add: list[Row] = []
        now = time.monotonic()
        while self._waiting and len(self._running) < self.max_batch_size:
            row = self._waiting.popleft()
            if row.job.cancelled:
                continue
            self._running[id(row.seq)] = row
            add.append(row)
            self.metrics.queue_wait.labels(model=self.name).observe(now - row.enqueued)
        self.metrics.queue_depth.labels(model=self.name).set(len(self._waiting))
        return add

    def _step(self, add: list[Row], remove: list[Row]) -> tuple[list, list, int]:
        """Worker thread: apply joins and leaves, then one forward step for every row."""
        for row in remove:
            try:
                self.batch.remove(row.seq)
            except (KeyError, ValueError):
                pass  # it finished in the step that raced with its cancellation
        failed, searched = [], []
        for row in add:
            try:
                if self.generator.searches(row.seq):
                    # Line-level search writes the whole poem here (it batches its own candidates);
                    # the row is then delivered like one that finished in a step.
                    searched.append((self.generator.search(row.seq), row.seq.text))
                    continue
                self.batch.add(row.seq)
            except Exception as e:
                log.exception("engine %s: could not add a row", self.name)
                failed.append((row, EngineError(f"generation failed ({type(e).__name__})")))
        stepped = len(self.batch)
        return failed, searched + (self.batch.step() if stepped else []), stepped

    def _deliver(self, events: list, stepped: int) -> None:
        if stepped:
            self.max_batch_seen = max(self.max_batch_seen, stepped)
            self.metrics.batch_size.labels(model=self.name).observe(stepped)
            self.metrics.tokens.labels(model=self.name).inc(stepped)
        for seq, text in events:
            row = self._running.get(id(seq))
            if row is None:  # cancelled while this step ran
                continue
            if text and row.job.stream:
                row.job.put(Piece(row.index, text))
            if seq.finished:
                del self._running[id(seq)]
                self._finished.append(time.monotonic())
                row.job.put(Finish(row.index, seq.completion()))
        self.metrics.running.labels(model=self.name).set(len(self._running))

    def _fail_all(self, err: Exception) -> None:
        for row in self._running.values():
            row.job.put(err)
        self._running.clear()
        self.batch = self.generator.new_batch()
