"""What a caller asks for (SamplingParams) and what it gets back (Completion), with their bounds.

    params = SamplingParams(temperature=0.8, top_k=40, form="wujue", acrostic="春夏秋冬", rhyme=True)
    params.validate()          # ConfigError naming the bad field, one line

The bounds live here (like nanochat's MAX_* constants), one table for the CLI, the Python API and
the HTTP service: the service's request schema is built from these fields and checked by validate(),
with a stricter, named layer on top (SERVICE_LIMITS in service/schemas.py, e.g. temperature <= 2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from textgen.errors import ConfigError

MAX_NEW_TOKENS = 4096
MAX_N = 256  # completions per request
MAX_TEMPERATURE = 5.0
MAX_REPETITION_PENALTY = 10.0
MAX_NO_REPEAT_NGRAM = 16
MAX_STOP = 8  # stop strings per request
MAX_STOP_LEN = 64
MAX_ACROSTIC = 32
FINISH_REASONS = ("length", "eos", "stop")


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

    def validate(self) -> None:
        """Raise ConfigError (one line naming the field) if any value is out of bounds or the
        constraints cannot be met together."""
        _check_int("max_new_tokens", self.max_new_tokens, 1, MAX_NEW_TOKENS)
        _check_int("min_new_tokens", self.min_new_tokens, 0, MAX_NEW_TOKENS)
        if self.min_new_tokens > self.max_new_tokens:
            raise ConfigError(
                f"min_new_tokens ({self.min_new_tokens}) must not exceed max_new_tokens ({self.max_new_tokens})"
            )
        _check_float("temperature", self.temperature, 0.0, MAX_TEMPERATURE)
        _check_int("top_k", self.top_k, 0, None)
        if not _is_number(self.top_p) or not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if (
            not _is_number(self.repetition_penalty)
            or not 0.0 < self.repetition_penalty <= MAX_REPETITION_PENALTY
        ):
            raise ConfigError(
                f"repetition_penalty must be in (0, {MAX_REPETITION_PENALTY:g}], got {self.repetition_penalty!r}"
            )
        _check_int("no_repeat_ngram_size", self.no_repeat_ngram_size, 0, MAX_NO_REPEAT_NGRAM)
        if len(self.stop) > MAX_STOP:
            raise ConfigError(f"at most {MAX_STOP} stop strings, got {len(self.stop)}")
        for s in self.stop:
            if not isinstance(s, str) or not 0 < len(s) <= MAX_STOP_LEN:
                raise ConfigError(f"stop strings must be 1 to {MAX_STOP_LEN} characters, got {s!r}")
        if self.rhyme_scheme is not None:
            from textgen.poetry.rhyme import check_scheme

            check_scheme(self.rhyme_scheme)
        for name in ("form", "acrostic", "tune"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be a string, got {getattr(self, name)!r}")
        from textgen.sampling.guided import check_title

        check_title(self.title)
        for name in ("rhyme", "tones", "guards"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.acrostic is not None and len(self.acrostic) > MAX_ACROSTIC:
            raise ConfigError(f"acrostic is at most {MAX_ACROSTIC} characters, got {len(self.acrostic)}")
        from textgen.poetry.forms import resolve_form

        # ConfigError when impossible
        resolve_form(self.form, self.acrostic, self.rhyme, tones=self.tones, tune=self.tune)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass
class Completion:
    text: str  # the generated text only (the prompt is not repeated)
    finish_reason: str  # "length" | "eos" | "stop"
    tokens: int  # generated tokens
    seed: int
    prompt: str = ""
    # The title line the model wrote first (a titled model asked for a form without a title): the
    # text begins with it. None otherwise.
    title: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x  # not NaN


def _check_int(name: str, value: object, lo: int, hi: int | None) -> None:
    ok = (
        isinstance(value, int) and not isinstance(value, bool) and value >= lo and (hi is None or value <= hi)
    )
    if not ok:
        rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ConfigError(f"{name} must be an integer {rng}, got {value!r}")


def _check_float(name: str, value: object, lo: float, hi: float) -> None:
    if not _is_number(value) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
