"""What a caller asks for (SamplingRequest: prompts, SamplingParams, n, seed), the one table of its
bounds (Limits), and what it gets back (Completion).

    request = SamplingRequest("春", SamplingParams(form="wujue", acrostic="春夏秋冬", rhyme=True), n=2, seed=7)
    request.validate()          # ConfigError naming the bad field, one line (LIBRARY limits)
    request.validate(SERVICE)   # the HTTP service's stricter limits (temperature <= 2, n <= 8...)

Limits is the one table of bounds, with a named instance per caller: LIBRARY for the CLI and the
Python API, SERVICE for HTTP. The service's request schema states SERVICE.bounds() (the same rules,
in pydantic's words), so a knob added to SamplingParams, with its bound here, shows up in the
schema without a change there. A Completion has one wire form, to_dict(echo=False) / from_dict():
what the service sends as JSON, in the stream's finish event and in /v1 choices, and what it caches.
"""

from __future__ import annotations

import types
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints

from textgen.errors import ConfigError

if TYPE_CHECKING:
    from textgen.poetry.forms import FormSpec

MAX_KEYWORDS = 8  # keywords in a plan
MAX_KEYWORD_CHARS = 4  # characters in one keyword
FINISH_REASONS = ("length", "eos", "stop")


@dataclass(frozen=True)
class Limits:
    """Bounds of a request. None = unbounded. bounds() says them as rules, for validate() and the
    service's schema alike."""

    max_new_tokens: int = 4096
    n: int = 256  # completions per prompt
    rows: int = 256  # completions per request: n x prompts
    prompts: int | None = None  # prompts per request
    prompt_chars: int | None = None  # characters per prompt
    temperature: float = 5.0
    top_k: int | None = None
    min_repetition_penalty: float = 0.0  # 0: any penalty above 0; else at least this
    repetition_penalty: float = 10.0
    no_repeat_ngram_size: int = 16
    stop: int = 8  # stop strings per request
    stop_chars: int = 64  # characters per stop string
    acrostic: int = 32
    title: int = 30  # = guided.MAX_TITLE, which a title the model writes is held to as well (tested)
    tune: int = 32
    text: int = 1024  # characters of any other text knob (form, rhyme_scheme, ...)
    beams: int = 8  # line-level search: partial poems kept
    candidates: int = 32  # line-level search: samples per line and beam
    seed: int = 2**63 - 1
    tune_header: bool = False  # True: `tune` only for a model trained with tune (词牌) header lines

    def bounds(self) -> dict[str, dict[str, Any]]:
        """Each field's rule in pydantic's words (ge, gt, le, max_length; "items": the rule of each
        string of a list): SamplingParams' fields (any other text knob: max_length=text), then the
        request's own (prompt, n, seed)."""
        hints = _hints(SamplingParams)
        out: dict[str, dict[str, Any]] = {
            f.name: {"max_length": self.text}
            for f in fields(SamplingParams)
            if _kind(hints[f.name])[0] == "str"
        }
        penalty = {"ge": self.min_repetition_penalty} if self.min_repetition_penalty else {"gt": 0.0}
        out |= {
            "max_new_tokens": {"ge": 1, "le": self.max_new_tokens},
            "min_new_tokens": {"ge": 0, "le": self.max_new_tokens},
            "temperature": {"ge": 0.0, "le": self.temperature},
            "top_k": {"ge": 0} | _le(self.top_k),
            "top_p": {"gt": 0.0, "le": 1.0},
            "repetition_penalty": penalty | {"le": self.repetition_penalty},
            "no_repeat_ngram_size": {"ge": 0, "le": self.no_repeat_ngram_size},
            "stop": {"max_length": self.stop, "items": {"min_length": 1, "max_length": self.stop_chars}},
            "acrostic": {"max_length": self.acrostic},
            "title": {"max_length": self.title},
            "tune": {"max_length": self.tune},
            "beams": {"ge": 1, "le": self.beams},
            "candidates": {"ge": 1, "le": self.candidates},
            "prompt": {} if self.prompt_chars is None else {"max_length": self.prompt_chars},
            "n": {"ge": 1, "le": self.n},
            "seed": {"ge": 0, "le": self.seed},
        }
        return out


LIBRARY = Limits()  # the CLI and the Python API
SERVICE = Limits(  # the HTTP service: what one request may cost a shared server
    max_new_tokens=1024, n=8, rows=64, prompts=8, prompt_chars=2000, temperature=2.0, top_k=1000,
    min_repetition_penalty=1.0, repetition_penalty=2.0, no_repeat_ngram_size=8, stop=4, stop_chars=32,
    acrostic=16, text=128, seed=2**53 - 1, tune_header=True,  # seed: exact in every JSON client
)  # fmt: skip
# LIBRARY's bounds under the names the CLI's help uses
MAX_NEW_TOKENS, MAX_N = LIBRARY.max_new_tokens, LIBRARY.rows
MAX_BEAMS, MAX_CANDIDATES = LIBRARY.beams, LIBRARY.candidates


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 200
    temperature: float = 1.0  # 0 = greedy (argmax)
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1 = off
    repetition_penalty: float = 1.0  # 1 = off; > 1 discourages tokens already in the prompt or output
    no_repeat_ngram_size: int = 0  # 0 = off; n > 0 forbids repeating any n-gram
    stop: tuple[str, ...] = ()
    form: str | None = None  # "wujue" | "qijue" | "wulv" | "qilv" | line lengths like "5,5,7,7"
    acrostic: str | None = None  # 藏头诗: these characters start the lines, in order
    rhyme: bool = False  # even lines end on one rhyme group (needs form or acrostic)
    tones: bool = False  # 平仄: the 近体诗 tone rules (5- or 7-character lines only)
    title: str | None = None  # 命题: the poem's title, for models trained with title header lines
    tune: str | None = None  # 词牌 (songci): header line, line lengths, punctuation, rhyme positions
    guards: bool = True  # degeneration guards for classical forms (no 3x character, 兮, weak rhymes…)
    rhyme_scheme: str | None = None  # "pingshui" 平水韵 | "xinyun" 中华新韵; None = the model's own
    min_new_tokens: int = 0  # <eos> held back until this many tokens (vLLM's min_tokens); forms end anyway
    keywords: str | None = None  # 关键词 plan, e.g. "明月、故乡": for models trained with a keywords line
    # Line-level search (forms and tunes): each line drawn as `candidates` samples from each of the
    # `beams` best partial poems, scored by the model and the judges. None = the model's default.
    search: bool | None = None
    beams: int = 2
    candidates: int = 8

    def __post_init__(self) -> None:
        # Accept a list (JSON, click's multiple=True) but keep the dataclass hashable.
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        if self.form == "":
            object.__setattr__(self, "form", None)
        if self.acrostic == "":
            object.__setattr__(self, "acrostic", None)
        if self.tune == "":
            object.__setattr__(self, "tune", None)
        if self.title == "":
            object.__setattr__(self, "title", None)
        if self.rhyme_scheme == "":
            object.__setattr__(self, "rhyme_scheme", None)
        if isinstance(self.keywords, (list, tuple)):
            object.__setattr__(self, "keywords", "、".join(self.keywords))
        if self.keywords == "":
            object.__setattr__(self, "keywords", None)

    def validate(self, limits: Limits = LIBRARY, layout: str = "couplet") -> FormSpec | None:
        """Raise ConfigError (one line naming the field) if any value is out of `limits` or the
        constraints cannot be met together; else the poem form they ask for (None: free text)."""
        hints, bounds = _hints(SamplingParams), limits.bounds()
        for f in fields(self):
            _check(f.name, getattr(self, f.name), hints[f.name], bounds.get(f.name, {}))
        if self.min_new_tokens > self.max_new_tokens:
            raise ConfigError(
                f"min_new_tokens ({self.min_new_tokens}) must not exceed max_new_tokens ({self.max_new_tokens})"
            )
        if self.rhyme_scheme is not None:
            from textgen.poetry.rhyme import check_scheme

            check_scheme(self.rhyme_scheme)
        from textgen.sampling.guided import check_title

        check_title(self.title)  # one line, not blank (its length is checked above)
        _check_keywords(self.keywords)
        from textgen.poetry.forms import resolve_form

        # ConfigError when impossible
        return resolve_form(self.form, self.acrostic, self.rhyme, layout, tones=self.tones, tune=self.tune)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass(frozen=True)
class SamplingRequest:
    """One request: prompts, their SamplingParams, n completions per prompt and a seed. Its rows
    are prompt-major, row r seeded with seed + r (None: a random seed, chosen when rows are made)."""

    prompts: tuple[str, ...] = ("",)
    params: SamplingParams = field(default_factory=SamplingParams)
    n: int = 1
    seed: int | None = None
    # The params fields the caller set; the others take the model's generation defaults
    # (Generator.prepare). None: every field as given (the library's own defaults).
    given: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.prompts, str):
            object.__setattr__(self, "prompts", (self.prompts,))
        elif isinstance(self.prompts, list):
            object.__setattr__(self, "prompts", tuple(self.prompts))
        if self.params is None:
            object.__setattr__(self, "params", SamplingParams())

    def validate(self, limits: Limits = LIBRARY, layout: str = "couplet") -> FormSpec | None:
        """The one check of a request (ConfigError, one line naming the field); returns the form
        its params ask for (SamplingParams.validate)."""
        prompts, n, seed = self.prompts, self.n, self.seed
        for p in prompts if isinstance(prompts, tuple) else (prompts,):
            if not isinstance(p, str):
                raise ConfigError(f"prompt must be a string, got {type(p).__name__}")
        if not isinstance(self.params, SamplingParams):
            raise ConfigError(f"params must be SamplingParams, got {type(self.params).__name__}")
        spec = self.params.validate(limits, layout)
        bounds = limits.bounds()
        for p in prompts:
            _check("prompt", p, str, bounds["prompt"])
        if limits.prompts is not None and len(prompts) > limits.prompts:
            raise ConfigError(f"at most {limits.prompts} prompts, got {len(prompts)}")
        rows = n * max(len(prompts), 1) if _is_int(n) else 0
        if not _is_int(n) or not 1 <= rows <= limits.rows:
            raise ConfigError(
                f"n x prompts must be between 1 and {limits.rows}, got n={_shown(n)} x {len(prompts)}"
            )
        _check("n", n, int, bounds["n"])
        if seed is not None:  # the last row's seed is seed + rows - 1
            _check("seed", seed, int, {"ge": 0, "le": limits.seed - rows + 1})
        return spec

    @property
    def reproducible(self) -> bool:
        """Its text is fixed by its fields: a seed was given, or decoding is greedy."""
        return self.seed is not None or self.params.temperature == 0

    def canonical(self) -> dict[str, Any]:
        """Everything that fixes the output, as JSON values (a cache key hashes it). Greedy text does
        not depend on the seed, so greedy requests leave it out and share one form."""
        return {
            "prompt": list(self.prompts),
            "params": self.params.to_dict(),
            "n": self.n,
            "seed": None if self.params.temperature == 0 else self.seed,
        }


ECHO = {"echo": True}  # a Completion field that repeats the request: not part of the wire form


@dataclass
class Completion:
    text: str  # the generated text only (the prompt is not repeated)
    finish_reason: str  # "length" | "eos" | "stop"
    tokens: int  # generated tokens
    seed: int = field(metadata=ECHO)
    prompt: str = field(default="", metadata=ECHO)
    # The title line the model wrote first (a titled model asked for a form without a title): the
    # text begins with it. None otherwise.
    title: str | None = None
    # The keyword plan the poem was written to (given, planned from the title, or the model's own).
    keywords: str | None = None

    def to_dict(self, echo: bool = True) -> dict:
        """Every field; echo=False: the wire form, without the fields that repeat the request (seed,
        prompt): what the service answers with, streams as a finish event and caches."""
        d = asdict(self)
        return d if echo else {f.name: d[f.name] for f in wire_fields()}

    @classmethod
    def from_dict(cls, d: dict, **echo: Any) -> Completion:
        """A Completion from its wire form and the echoed fields (seed=...); KeyError, TypeError or
        ValueError when `d` is not one (an entry written by another version, say)."""
        hints, out = _hints(cls), {}
        for f in wire_fields():
            if f.name not in d and f.default is f.default_factory:  # both MISSING: required
                raise KeyError(f.name)
            value = d.get(f.name, f.default)
            if not _is_instance(value, hints[f.name]):
                raise TypeError(f"{f.name}: unexpected {type(value).__name__}")
            out[f.name] = value
        if out["finish_reason"] not in FINISH_REASONS:
            raise ValueError(f"finish_reason: {out['finish_reason']!r}")
        return cls(**out, **echo)


@cache
def wire_fields() -> tuple:
    """The fields of a Completion's wire form, in order."""
    return tuple(f for f in fields(Completion) if not f.metadata.get("echo"))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _kind(tp: Any) -> tuple[str, bool]:
    """A field's type as ("int" | "float" | "bool" | "str" | "strs", None allowed)."""
    args = get_args(tp)
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _kind(rest[0])[0], len(rest) < len(args)
    if get_origin(tp) is tuple:
        return "strs", False
    return {int: "int", float: "float", bool: "bool", str: "str"}.get(tp, "any"), False


def _check(name: str, value: object, tp: Any, rule: dict[str, Any]) -> None:
    """ConfigError (one line, naming the field and the rule, never echoing a long value) unless
    `value` is of type `tp` and within `rule` (Limits.bounds())."""
    kind, optional = _kind(tp)
    if value is None and optional:
        return
    if kind == "bool" and not isinstance(value, bool):
        either = "true, false or null" if optional else "true or false"
        raise ConfigError(f"{name} must be {either}, got {_shown(value)}")
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {_shown(value)}")
        if len(value) > rule.get("max_length", len(value)):
            raise ConfigError(f"{name} is at most {rule['max_length']} characters, got {len(value)}")
    if kind == "strs":
        if len(value) > rule.get("max_length", len(value)):  # type: ignore[arg-type]
            raise ConfigError(f"at most {rule['max_length']} {name} strings, got {len(value)}")  # type: ignore[arg-type]
        lo, hi = rule.get("items", {}).get("min_length", 0), rule.get("items", {}).get("max_length")
        for s in value:  # type: ignore[attr-defined]
            if not isinstance(s, str) or not lo <= len(s) <= (hi or len(s)):
                raise ConfigError(f"{name} strings must be {lo} to {hi} characters, got {_shown(s)}")
    if kind == "int":
        lo, hi = rule.get("ge", 0), rule.get("le")
        if not _is_int(value) or value < lo or (hi is not None and value > hi):  # type: ignore[operator]
            rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise ConfigError(f"{name} must be an integer {rng}, got {_shown(value)}")
    if kind == "float":
        lo, hi, open_lo = rule.get("gt", rule.get("ge", 0.0)), rule.get("le"), "gt" in rule
        ok = _is_number(value) and (value > lo if open_lo else value >= lo) and (hi is None or value <= hi)  # type: ignore[operator]
        if not ok:
            rng = f"in ({lo:g}, {hi:g}]" if open_lo else f"between {lo:g} and {hi:g}"
            raise ConfigError(f"{name} must be {rng}, got {_shown(value)}")


def _check_keywords(value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ConfigError(f"keywords must be a string like '明月、故乡' or a list, got {value!r}")
    from textgen.data.keywords import parse_keywords

    words = parse_keywords(value)
    bad = [
        w
        for w in words
        if not 0 < len(w) <= MAX_KEYWORD_CHARS or not all("\u3400" <= c <= "\u9fff" for c in w)
    ]
    if not words or len(words) > MAX_KEYWORDS or bad:
        raise ConfigError(
            f"keywords must be 1 to {MAX_KEYWORDS} words of 1 to {MAX_KEYWORD_CHARS} Chinese characters "
            f"separated by 、 , or spaces, got {value[:40]!r}"
        )


def _le(hi: int | None) -> dict[str, int]:
    return {} if hi is None else {"le": hi}


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x  # not NaN


def _is_instance(value: object, tp: Any) -> bool:
    if get_origin(tp) in (Union, types.UnionType):
        return any(_is_instance(value, a) for a in get_args(tp))
    if tp is type(None):
        return value is None
    return _is_int(value) if tp is int else isinstance(value, tp)


def _shown(value: object, limit: int = 40) -> str:
    """repr(value), cut to `limit` characters: an error never echoes a huge input."""
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 1] + "…"
