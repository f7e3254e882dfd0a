"""The web playground: GET / (service/static/index.html), its files under /static/, and
GET /playground/config, what the page needs to know about the loaded models.

    textgen serve            # then open http://127.0.0.1:8000/

Plain HTML, CSS and JavaScript shipped in the package (no build step, no CDN): the page talks to
/generate (streamed), /explain and /playground/config only, and its Content-Security-Policy
forbids anything else, so it works on an offline machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse

from service import schemas
from service.routes.deps import ServingDep
from textgen.sampling.params import SamplingParams

STATIC = Path(__file__).resolve().parent.parent / "static"
FILES = {p.name for p in STATIC.iterdir() if p.is_file()} if STATIC.is_dir() else set()
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}  # fmt: skip
# Only this server: no CDN, no fonts or scripts from elsewhere (data: for the inline icon).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")  # fmt: skip
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

router = APIRouter(tags=["playground"])


class ModelInfo(BaseModel):
    id: str
    title: bool = Field(description="trained with title header lines: takes a title (命题)")
    tunes: bool = Field(description="trained with tune (词牌) header lines: takes a tune")
    rhyme_scheme: str = Field(description="the scheme its rhymes and tones follow by default")
    keywords: bool = Field(
        False, description="trained with keyword plans (关键词 header lines): takes keywords"
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="what a request that leaves a knob out gets: the library's defaults with the model's "
        "generation.json on top (search as true or false)",
    )


class PlaygroundConfig(BaseModel):
    models: list[ModelInfo]
    tunes: list[str] = Field(description="known 词牌, when the service takes a tune; most common first")
    limits: dict[str, float]


def _file(name: str) -> FileResponse:
    if name not in FILES:
        raise HTTPException(404, f"no such file: /static/{name}"[:200])
    path = STATIC / name
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"), headers=HEADERS)


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return _file("index.html")


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> FileResponse:
    return _file(name)


def model_defaults(gen: Any) -> dict[str, Any]:
    """The sampling knobs a request that leaves them out gets from this model (Generator.defaults,
    its generation.json, over SamplingParams' own defaults); search resolved to true or false."""
    lib = SamplingParams()
    own = getattr(gen, "defaults", None) or {}
    out = {k: own.get(k, getattr(lib, k)) for k in schemas.PARAM_NAMES}
    out["search"] = bool(out["search"])
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def tune_names() -> list[str]:
    """The known tunes, when the HTTP schema has a `tune` field (the tunes module is present)."""
    if "tune" not in schemas.PARAM_NAMES:
        return []
    from textgen.poetry.tunes import tunes

    return list(tunes())


@router.get("/playground/config")
async def config(serving: ServingDep) -> PlaygroundConfig:
    """The loaded models, what each takes and its generation defaults, the known tunes, and the
    request limits."""
    models = []
    for name, engine in serving.engines.items():
        gen = engine.generator
        fields = getattr(gen, "header_fields", [])
        scheme = getattr(gen, "rhyme_scheme", "pingshui")
        models.append(
            ModelInfo(id=name, title="title" in fields, tunes="rhythmic" in fields, rhyme_scheme=scheme,
                      keywords="keywords" in fields, defaults=model_defaults(gen))
        )  # fmt: skip
    lim = schemas.LIMITS
    limits = {"n": lim.n, "acrostic": lim.acrostic, "prompt": lim.prompt_chars, "max_new_tokens": lim.max_new_tokens,
              "temperature": lim.temperature, "seed": lim.seed, "title": lim.title}  # fmt: skip
    return PlaygroundConfig(models=models, tunes=tune_names(), limits=limits)
