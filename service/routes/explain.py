"""POST /explain: why a poem complies (or not) — each character's 平/仄, the rhyme characters and
the judge's faults, for the playground's "explain" panel.

    curl -s localhost:8000/explain -H 'content-type: application/json' -d '{"text": "床前明月光，疑是地上霜。\\n举头望明月，低头思故乡。"}'

The answer: {"scheme", "form", "lines": [{"text", "tones": "平仄中…", "rhyme": bool, "groups"}],
"faults": [{"rule", "line", "pos", "message"}], "problems": [...], "checks": {"form", "rhyme",
"tones"}, "complies"}. Tones: 平, 仄, 中 (a 多音字 that may be read either way), ？ (unknown).
Faults and problems are those of textgen.poetry (form_problems, poem_faults); no model is involved.
"""

from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.routes.generate import ERRORS
from service.schemas import FORM_PATTERN, LIMITS
from service.schemas import text as text_type
from textgen.poetry.check import detect_form, form_problems, split_lines
from textgen.poetry.forms import resolve_form
from textgen.poetry.judge import poem_faults
from textgen.poetry.rhyme import is_cjk, rhymes_of, tones_of

MAX_EXPLAIN_CHARS = 1000  # a 七律 is 64 characters, a long ci about 240
_PLACE = re.compile(r"^(?P<rule>.+?) \(line (?P<line>\d+), char (?P<pos>\d+)\)$")

PoemText = text_type(min_length=1, max_length=MAX_EXPLAIN_CHARS)
Form = text_type(pattern=FORM_PATTERN)
Acrostic = text_type(min_length=1, max_length=LIMITS.acrostic)
Tune = text_type(min_length=1, max_length=LIMITS.tune)

router = APIRouter(tags=["explain"])


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: PoemText = Field(description="the poem (no title line)")
    form: Form | None = Field(None, description="the form asked for; default: the one detected")
    acrostic: Acrostic | None = None
    tune: Tune | None = Field(None, description="a 词牌, for ci")
    rhyme_scheme: Literal["pingshui", "xinyun"] = "pingshui"

    @field_validator("text")
    @classmethod
    def _chinese(cls, v: str) -> str:
        """Only Chinese characters have 平仄: a letter or digit of another script would be judged as
        one (Latin letters read as 仄), so it is refused, not guessed."""
        other = next((ch for ch in v if ch.isalnum() and not is_cjk(ch)), None)
        if other is not None:
            raise ValueError(f"only Chinese characters have 平仄, and {other!r} is not one")
        return v


class ExplainedLine(BaseModel):
    text: str
    tones: str = Field(description="one of 平 仄 中 (either) ？ (unknown) per character")
    rhyme: bool = Field(description="a rhyming position of the form")
    groups: list[str] = Field(description="rhyme groups of the last character, on rhyming lines")


class Fault(BaseModel):
    rule: str
    line: int | None = None  # 1-based
    pos: int | None = None  # 1-based character in the line
    message: str


class ExplainResponse(BaseModel):
    scheme: str
    form: str | None
    lines: list[ExplainedLine]
    faults: list[Fault]
    checks: dict[str, bool | None] = Field(description="form, rhyme, tones: true = kept, null = n/a")
    complies: bool


TONE_NAMES = {frozenset((True,)): "平", frozenset((False,)): "仄", frozenset((True, False)): "中"}


def explain(req: ExplainRequest) -> ExplainResponse:
    """The judge's view of one poem, with each character's tone and the rhyme characters marked."""
    scheme, lines = req.rhyme_scheme, split_lines(req.text)
    named = req.form or req.acrostic or req.tune
    if req.tune:  # only with a tune-aware resolve_form; a form and a tune together are refused there
        spec = resolve_form(req.form, req.acrostic, tune=req.tune)
    else:
        form = req.form if named else detect_form(req.text)
        spec = resolve_form(form, req.acrostic) if form or req.acrostic else None
    if spec is not None:
        found = form_problems(req.text, spec, req.acrostic, rhyme=True, tones=True, scheme=scheme)
        rhyme_at = set(spec.rhyme_lines())
    else:
        found, rhyme_at = poem_faults(req.text, scheme), set(range(1, len(lines), 2))
    faults = [_fault(p) for p in found]
    shape = [f for f in faults if f.line is None]
    tonal = spec is not None and (spec.is_tune or all(n in (5, 7) for n in spec.line_lengths))
    checks = {
        "form": None if spec is None else not shape,
        "rhyme": not any("韵" in f.rule for f in faults) if len(rhyme_at) >= 2 else None,
        "tones": not any(f.line and "韵" not in f.rule for f in faults) if tonal and not shape else None,
    }
    out = [
        ExplainedLine(
            text=x,
            tones="".join(TONE_NAMES.get(tones_of(ch, scheme), "？") if is_cjk(ch) else "？" for ch in x),
            rhyme=i in rhyme_at,
            groups=_groups(x[-1], scheme) if i in rhyme_at and x else [],
        )
        for i, x in enumerate(lines)
    ]
    name = spec.name if spec is not None else None
    complies = not faults and spec is not None
    return ExplainResponse(
        scheme=scheme, form=name, lines=out, faults=faults, checks=checks, complies=complies
    )


def _groups(ch: str, scheme: str) -> list[str]:
    """The groups a line end rhymes in: its 平声 groups (近体诗 rhymes on 平), else any."""
    return sorted(rhymes_of(ch, scheme) or rhymes_of(ch, scheme, None))


def _fault(message: str) -> Fault:
    m = _PLACE.match(message)
    if m is None:
        return Fault(rule=message.split(" ")[0], message=message)
    return Fault(rule=m["rule"], line=int(m["line"]), pos=int(m["pos"]), message=message)


@router.post("/explain", response_model=ExplainResponse, responses=ERRORS)
def explain_route(req: ExplainRequest) -> ExplainResponse:  # sync: runs in the threadpool
    """Explain a poem: 平/仄 of each character, rhyme characters, and what the judge finds."""
    return explain(req)
