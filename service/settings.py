"""Service settings, read from the environment (pydantic-settings) or set by `textgen serve`.

Every variable has the prefix TEXTGEN_, except REDIS_URL which is also read as-is because that is
what container platforms set:

    TEXTGEN_MODELS="tang,mine=runs/tang"   # [NAME=]CHECKPOINT, comma-separated; default: shipped models
    REDIS_URL=redis://localhost:6379/0     # unset: an in-process LRU cache
    TEXTGEN_CACHE=false                    # no caching at all
    TEXTGEN_CACHE_TTL=86400                # seconds a cached completion lives
    TEXTGEN_CACHE_SIZE=4096                # entries in the in-process LRU
    TEXTGEN_REDIS_TIMEOUT=1                # seconds per Redis operation
    TEXTGEN_REDIS_RETRY=5                  # longest back-off after repeated Redis errors
    TEXTGEN_MAX_BATCH_SIZE=64              # rows stepped together per model
    TEXTGEN_MAX_QUEUE=256                  # rows waiting per model before 429
    TEXTGEN_DEADLINE=60                    # seconds a request may take, queue included (then 504)
    TEXTGEN_MAX_BODY_BYTES=65536           # larger request bodies get 413
    TEXTGEN_BODY_TIMEOUT=10                # seconds to send a request body (then 408, connection closed)
    TEXTGEN_DEVICE=cpu
    TEXTGEN_QUANTIZE=fp16                  # faster CPU steps (int8: faster still, rows batch-dependent)
    TEXTGEN_THREADS=2                      # torch CPU threads

    settings = Settings()                  # from the environment
    app = create_app(settings)
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from textgen.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEXTGEN_", extra="ignore")

    models: str = Field(default="", description="NAME=CHECKPOINT pairs, comma-separated (NAME= optional)")
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TEXTGEN_REDIS_URL", "REDIS_URL", "redis_url")
    )
    cache: bool = Field(default=True, description="false: no caching at all")
    cache_ttl: int = Field(default=86400, ge=1, description="seconds a cached completion lives")
    cache_size: int = Field(default=4096, ge=1, description="entries kept by the in-process LRU cache")
    # Sized for a busy 2-core host: under a 64-client burst the event loop itself can lag a few
    # hundred ms, so 0.1 s timed out against a healthy Redis. A hung Redis costs one timeout, then
    # a back-off of 0.25 s doubling up to redis_retry while failures repeat.
    redis_timeout: float = Field(
        default=1.0, gt=0, description="seconds a Redis operation, and the wait for a connection, may take"
    )
    redis_retry: float = Field(default=5.0, ge=0, description="most seconds Redis is skipped after errors")
    max_batch_size: int = Field(default=64, ge=1, le=4096, description="rows stepped together per model")
    max_queue: int = Field(default=256, ge=1, description="rows waiting per model; more get 429")
    deadline: float = Field(default=60.0, gt=0, description="seconds per request, queueing included (504)")
    max_body_bytes: int = Field(default=65536, ge=1024, description="request body limit (413)")
    body_timeout: float = Field(
        default=10.0, gt=0, description="seconds a client may take to send its request body (then 408)"
    )
    device: str = "cpu"
    # fp16 keeps rows independent (a seeded request gives the same text whatever else is running);
    # int8 quantizes activations per batch, so it is faster but batch-dependent.
    quantize: Literal["fp16", "int8"] | None = Field(default=None, description="fp16 | int8 CPU weights")
    threads: int | None = Field(
        default=None, ge=1, le=256, description="torch CPU threads (default: torch's)"
    )


def parse_models(spec: str | list[str]) -> list[tuple[str | None, str]]:
    """'tang=ckpt/a,ckpt/b' or ['tang=ckpt/a', 'ckpt/b'] -> [('tang', 'ckpt/a'), (None, 'ckpt/b')]."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[tuple[str | None, str]] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, sep, path = item.partition("=")
        if not sep:
            out.append((None, item))
        elif not name.strip() or not path.strip():
            raise ConfigError(f"model {item!r}: expected NAME=CHECKPOINT")
        else:
            out.append((name.strip(), path.strip()))
    return out
