"""The FastAPI app factory: wiring, lifespan, the error contract and offline /docs.

Every error is JSON, never a stack trace (those go to the log): bad input is a 4xx (422 validation,
malformed or non-UTF-8 body; 404 unknown model; 413 body too large; 429 queue full with Retry-After;
504 deadline). The native routes answer {"error": "<one line>", "type": "<kind>"}; /v1/* answers in
OpenAI's shape, {"error": {"message", "type", "param", "code": "<kind>"}}, so the openai client shows
the message. /docs serves Swagger UI from files in the fastapi-offline package (no CDN).

    app = create_app({"tang": Generator.from_checkpoint("tang")})   # models in hand
    app = create_app(Settings(models="tang"))                 # loaded at startup
    uvicorn --factory service.app:create_app                                   # from TEXTGEN_* env
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.types import Scope

from service.body import BodyMiddleware
from service.cache import Cache, MemoryCache, NullCache, RedisCache
from service.engine import DeadlineExceeded, Engine, EngineError, QueueFull
from service.metrics import Metrics, MetricsMiddleware
from service.responses import UTF8JSONResponse
from service.routes import api_router, explain, playground
from service.schemas import BOUNDS, PARAM_NAMES
from service.serving import ClientGone, ModelNotFound, Serving
from service.settings import Settings, parse_models
from textgen import __version__
from textgen.checkpoint import shipped_models
from textgen.errors import ConfigError, TextgenError, TokenizerError
from textgen.sampling import Generator
from textgen.sampling.device import configure_cpu

log = logging.getLogger("textgen.service")


def load_generators(
    models: list[tuple[str | None, str]],
    device: str = "cpu",
    quantize: str | None = None,
    threads: int | None = None,
) -> dict[str, Generator]:
    """(NAME or None, CHECKPOINT) pairs -> generators by name (NAME, else the model's own name).
    No pairs: every shipped model (checkpoints/<NAME>/model.safetensors). Sets torch's CPU threads
    and backend for the process first, once: engine threads then never switch them per call."""
    configure_cpu(threads)
    if not models:
        models = [(name, str(path)) for name, path in shipped_models().items()]
    gens: dict[str, Generator] = {}
    for name, path in models:
        gen = Generator.from_checkpoint(path, device=device, quantize=quantize)
        name = name or getattr(gen, "name", None) or Path(path).stem
        if name in gens:
            raise ConfigError(f"model name {name!r} given twice: name them NAME=CHECKPOINT")
        gens[name] = gen
    if not gens:
        raise ConfigError("no models to serve and none shipped: pass [NAME=]CHECKPOINT or set TEXTGEN_MODELS")
    return gens


def make_cache(settings: Settings) -> Cache:
    if not settings.cache:
        return NullCache(settings.cache_ttl)
    if settings.redis_url:
        return RedisCache(settings.redis_url, settings.cache_ttl, timeout=settings.redis_timeout,
                          retry=settings.redis_retry)  # fmt: skip
    return MemoryCache(settings.cache_ttl, settings.cache_size)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    st = app.state
    gens = (
        st.generators
        if st.generators is not None
        else await asyncio.to_thread(
            load_generators,
            parse_models(st.settings.models),
            st.settings.device,
            st.settings.quantize,
            st.settings.threads,
        )
    )
    engines = {
        name: Engine(
            name,
            gen,
            max_batch_size=st.settings.max_batch_size,
            max_queue=st.settings.max_queue,
            metrics=st.metrics,
        )  # fmt: skip
        for name, gen in gens.items()
    }
    for engine in engines.values():
        await engine.start()
    st.serving = Serving(engines, st.cache, st.metrics, deadline=st.settings.deadline)
    log.info("serving %s (cache: %s)", ", ".join(engines), st.cache.backend)
    try:
        yield
    finally:
        for engine in engines.values():
            await engine.stop()
        await st.cache.close()


def create_app(
    source: dict[str, Generator] | Settings | None = None,
    *,
    settings: Settings | None = None,
    cache: Cache | None = None,
) -> FastAPI:
    """The app serving `source`: generators by name, or Settings naming checkpoints (default: env)."""
    if isinstance(source, Settings):
        settings, source = source, None
    settings = settings or Settings()
    app = FastAPIOffline(
        title="textgen",
        version=__version__,
        summary="Chinese poetry and lyrics from character-level RNNs",
        lifespan=lifespan,
        default_response_class=UTF8JSONResponse,
    )
    app.state.settings = settings
    app.state.generators = source
    app.state.metrics = Metrics()
    app.state.cache = cache if cache is not None else make_cache(settings)
    app.include_router(api_router)
    app.include_router(explain.router)
    app.include_router(playground.router)  # the web page at /
    app.openapi = partial(openapi, app, app.openapi)  # type: ignore[method-assign]
    add_error_handlers(app)
    app.add_middleware(
        BodyMiddleware, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout, error=error
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: sees every status
    return app


def openapi(app: FastAPI, build: Any) -> dict[str, Any]:
    """FastAPI's schema, with `model` restricted to the loaded names once they are known (and
    required by /generate when several are loaded), so the schema says what the server accepts."""
    schema = build()
    serving = getattr(app.state, "serving", None)
    if serving is None or getattr(app.state, "openapi_models", False):
        return schema
    names = list(serving.engines)
    comps = schema.get("components", {}).get("schemas", {})
    for name in ("CompletionRequest", "ChatCompletionRequest"):
        if name in comps:
            comps[name]["properties"]["model"] = {"type": "string", "enum": names, "title": "Model"}
    if "GenerateRequest" in comps:
        req = comps["GenerateRequest"]
        prop = req["properties"]["model"]
        named = {"type": "string", "enum": names}
        if len(names) == 1:
            prop["anyOf"] = [named, {"type": "null"}]
        else:
            req["properties"]["model"] = named | {"title": "Model", "description": "the model to use"}
            req["required"] = [*req.get("required", []), "model"]
    app.state.openapi_models = True
    return schema


# The request field a ConfigError's message names first (its OpenAI "param").
FIELDS = sorted(set(BOUNDS) | set(PARAM_NAMES) | {"max_tokens"}, key=len, reverse=True)
FIELD_NAME = re.compile(r"\b(" + "|".join(FIELDS) + r")\b")
OPENAI_TYPES = {429: "rate_limit_error", 504: "timeout"}
MAX_MESSAGE = 300


def error(request: Request | Scope, status: int, message: str, kind: str, param: str | None = None,
          headers: Mapping[str, str] | None = None) -> UTF8JSONResponse:  # fmt: skip
    """The error response: OpenAI's shape under /v1, {"error", "type"} elsewhere. The message is
    one line of at most MAX_MESSAGE characters: an error never echoes a huge input."""
    path = request.url.path if isinstance(request, Request) else request.get("path", "")
    message = " ".join(message.splitlines())
    message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
    if path.startswith("/v1/") or path == "/v1":
        message = re.sub(r"\bmax_new_tokens\b", "max_tokens", message)  # its name on /v1
        param = "max_tokens" if param == "max_new_tokens" else param
        otype = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        body: dict[str, Any] = {"error": {"message": message, "type": otype, "param": param, "code": kind}}
    else:
        body = {"error": message, "type": kind}
    return UTF8JSONResponse(body, status_code=status, headers=headers)


def _loc(e: dict) -> list[str]:
    """A validation error's field path, without "body" and pydantic's union-member labels (names cut
    to 40 characters)."""
    loc = [str(x) for x in e.get("loc", ()) if isinstance(x, int) or (x != "body" and str(x).isidentifier())]
    return [x if len(x) <= 40 else x[:39] + "…" for x in loc]


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """One line naming each bad field (without echoing the input), and the first field's name."""
    parts = []
    errors = exc.errors()
    for e in errors[:5]:
        if e.get("type") == "json_invalid":
            return f"request body is not valid JSON ({e.get('ctx', {}).get('error', 'parse error')})", None
        loc = ".".join(_loc(e)) or "body"
        msg = e.get("msg", "invalid").removeprefix("Value error, ")
        if e.get("type") == "string_pattern_mismatch" and loc == "form":
            msg = "not a form this server knows: wujue, qijue, wulv, qilv, 五绝/七绝/五律/七律, or line lengths like 5,5,7,7"
        elif e.get("type") == "string_unicode":
            msg = "not valid Unicode text (a lone surrogate?)"
        parts.append(f"{loc}: {msg}")
    first = next((_loc(e) for e in errors if _loc(e)), [None])[0]
    return "; ".join(parts), first


def add_error_handlers(app: FastAPI) -> None:
    def on(exc_type: type[Exception], status: int, kind: str, param: str | None = None) -> None:
        async def handler(request: Request, exc: Exception) -> UTF8JSONResponse:
            return error(request, status, str(exc) or kind, kind, param)

        app.add_exception_handler(exc_type, handler)

    @app.exception_handler(TextgenError)  # ConfigError: out of bounds, impossible constraints
    async def invalid_request(request: Request, exc: TextgenError) -> UTF8JSONResponse:
        named = FIELD_NAME.search(str(exc))
        param = named.group(1) if named else None
        return error(request, 422, str(exc) or "invalid request", "invalid_request", param)

    on(ModelNotFound, 404, "model_not_found", "model")
    on(DeadlineExceeded, 504, "timeout")
    on(EngineError, 500, "internal_error")

    @app.exception_handler(TokenizerError)
    async def unknown_characters(request: Request, exc: TokenizerError) -> UTF8JSONResponse:
        param = "prompt" if str(exc).startswith("prompt") else None  # else a header line (title, form)
        return error(request, 422, str(exc), "unknown_characters", param)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> UTF8JSONResponse:
        message, param = validation_message(exc)
        return error(request, 422, message, "validation_error", param)

    @app.exception_handler(QueueFull)
    async def busy(request: Request, exc: QueueFull) -> UTF8JSONResponse:
        return error(request, 429, str(exc), "overloaded", headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> UTF8JSONResponse:
        if exc.status_code == 400:  # FastAPI could not read the body (service/body.py says why first)
            return error(request, 422, "request body could not be read as JSON", "validation_error")
        kind = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return error(request, exc.status_code, str(exc.detail), kind, headers=exc.headers)

    @app.exception_handler(ClientGone)
    async def gone(request: Request, exc: ClientGone) -> UTF8JSONResponse:
        return error(request, 499, "client closed the request", "client_closed")  # nobody reads it

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> UTF8JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return error(request, 500, "internal server error", "internal_error")
