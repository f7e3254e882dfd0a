"""Prometheus metrics, one CollectorRegistry per app (so several apps, e.g. in tests, never clash).

metrics = Metrics()
metrics.requests.labels(route="/generate", status="200").inc()
body = metrics.render()          # GET /metrics
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("textgen_requests", "HTTP requests", ["route", "status"], registry=r)
        self.latency = Histogram(
            "textgen_request_seconds", "HTTP request latency (to the last byte)", ["route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_wait = Histogram(
            "textgen_queue_wait_seconds", "time a row waits before joining the batch", ["model"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "textgen_queue_rows", "rows waiting to join the batch", ["model"], registry=r
        )
        self.running = Gauge("textgen_running_rows", "rows in the running batch", ["model"], registry=r)
        self.batch_size = Histogram(
            "textgen_batch_size", "rows per forward step", ["model"], buckets=BATCH_BUCKETS, registry=r
        )
        self.step_time = Histogram(
            "textgen_step_seconds", "time of one engine step (joins, leaves, forward, sampling)", ["model"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter("textgen_generated_tokens", "tokens generated", ["model"], registry=r)
        self.cancelled = Counter(
            "textgen_cancelled_rows", "rows removed before finishing", ["model", "reason"], registry=r
        )
        self.cache_hits = Counter("textgen_cache_hits", "cache hits", ["backend"], registry=r)
        self.cache_misses = Counter("textgen_cache_misses", "cache misses", ["backend"], registry=r)
        self.cache_errors = Counter(
            "textgen_cache_errors", "cache operations that failed", ["backend"], registry=r
        )
        self.coalesced = Counter(
            "textgen_coalesced_requests", "requests that joined an identical one in flight", ["model"],
            registry=r,
        )  # fmt: skip

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts requests by route template and status and times them to the last byte sent.

    Pure ASGI (not BaseHTTPMiddleware) so streaming responses and client disconnects pass through
    untouched. Paths that match no route are counted under "other" to bound the label values."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # if the app dies before sending a status

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "other")
            self.metrics.requests.labels(route=path, status=str(status)).inc()
            self.metrics.latency.labels(route=path).observe(time.perf_counter() - start)
