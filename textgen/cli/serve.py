"""`textgen serve`: the HTTP service (service/) under uvicorn.

textgen serve                                  # every shipped model: tang, songci, lyrics
textgen serve tang mine=runs/tang --redis-url redis://localhost:6379/0
"""

from __future__ import annotations

import click


@click.command(
    epilog="""\b
Examples:
  textgen serve                                        # shipped models; POST /generate on :8000
  textgen serve tang mine=runs/tang --host 0.0.0.0 --port 8080
  REDIS_URL=redis://localhost:6379/0 textgen serve tang
\b
Every option can also come from the environment (TEXTGEN_MODELS, REDIS_URL, TEXTGEN_CACHE_TTL,
TEXTGEN_MAX_BATCH_SIZE, ...; see docs/serving.md). Options given here win."""
)
@click.argument("models", nargs=-1, metavar="[NAME=]CHECKPOINT...")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", type=int, default=8000, show_default=True, help="TCP port.")
@click.option(
    "--redis-url", default=None, help="Cache in Redis (redis://host:6379/0); default: in-process LRU."
)
@click.option("--cache-ttl", type=int, default=None, help="Seconds a cached completion lives [86400].")
@click.option("--no-cache", is_flag=True, help="Turn caching off.")
@click.option("--max-batch-size", type=int, default=None, help="Rows stepped together per model [64].")
@click.option("--max-queue", type=int, default=None, help="Rows waiting per model before 429 [256].")
@click.option("--deadline", type=float, default=None, help="Seconds per request, queueing included [60].")
@click.option("--device", default=None, help="cpu, cuda, cuda:1, mps ... [cpu]")
@click.option(
    "--quantize",
    type=click.Choice(["fp16", "int8"]),
    default=None,
    help="Faster CPU steps: fp16 keeps seeded rows batch-independent, int8 is faster but not.",
)
@click.option("--threads", type=int, default=None, help="torch CPU threads [torch's default].")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))  # fmt: skip
def serve(models, host, port, redis_url, cache_ttl, no_cache, max_batch_size, max_queue, deadline, device,
          quantize, threads, log_level) -> None:  # fmt: skip
    """Serve checkpoints over HTTP: /generate, /v1/completions (OpenAI), /health, /metrics, /docs.

    Each CHECKPOINT is a shipped model's name, a run directory or a .safetensors file, optionally
    named NAME=CHECKPOINT (default name: the folder's name). Without any, TEXTGEN_MODELS is used,
    and without that every shipped model (checkpoints/<NAME>/model.safetensors) is served."""
    import logging

    import uvicorn
    from pydantic import ValidationError

    from service.app import create_app, load_generators
    from service.settings import Settings, parse_models
    from textgen.errors import ConfigError

    overrides = {
        "redis_url": redis_url, "cache_ttl": cache_ttl, "max_batch_size": max_batch_size,
        "max_queue": max_queue, "deadline": deadline, "device": device, "cache": False if no_cache else None,
        "quantize": quantize, "threads": threads,
    }  # fmt: skip
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}") from None
    logging.basicConfig(format="%(levelname)s: %(message)s", level=log_level.upper())
    specs = parse_models(list(models)) if models else parse_models(settings.models)
    # Before uvicorn: a bad checkpoint is one error line.
    gens = load_generators(specs, settings.device, settings.quantize, settings.threads)
    for name, gen in gens.items():
        click.echo(f"loaded {name} ({gen.digest[:12]}) from {gen.checkpoint.path}", err=True)
    app = create_app(gens, settings=settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
