"""GET /health: 200 once the models are loaded (503 before), with the cache backend's state.

The service stays healthy when Redis is down (it serves uncached), so a dead cache shows up as
"cache": {"reachable": false} and "status": "degraded", not as a failing health check. A model
served with int8 weights shows "cached": false: its text depends on the batch, so it is never cached.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.responses import UTF8JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> UTF8JSONResponse:
    """Readiness: loaded models, their queues, and whether the cache answers."""
    serving = getattr(request.app.state, "serving", None)
    if serving is None:
        return UTF8JSONResponse({"status": "loading", "models": {}}, status_code=503)
    cache = serving.cache
    reachable = await cache.ping()
    # "cached": false for int8 models, whose text depends on the batch (see docs/serving.md).
    models = {
        name: {"digest": e.generator.digest, "quantize": getattr(e.generator, "quantize", None),
               "cached": cache.enabled and e.batch_invariant, "running": e.running, "queued": e.queued}
        for name, e in serving.engines.items()
    }  # fmt: skip
    body = {
        "status": "ok" if reachable else "degraded",
        "models": models,
        "cache": {
            "backend": cache.backend,
            "reachable": reachable,
            "errors": cache.errors,
            "last_error": cache.last_error,
        },  # fmt: skip
    }
    return UTF8JSONResponse(body)
