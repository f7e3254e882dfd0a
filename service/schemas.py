"""Request and response bodies of the HTTP API.

The sampling knobs are derived from textgen.sampling.SamplingParams: each of its fields is a field of
/generate and /v1/completions with the same name, type and default, so a knob added to the library
shows up here (and in /openapi.json) without a change. The library's bounds live in one place,
SamplingParams.validate(); the service adds a stricter, named layer (SERVICE_LIMITS, nanochat's
MAX_* constants) that the schema states, so a request outside it is a 422 before any model work.
Text fields refuse lone surrogates, which no UTF-8 encoder accepts.

    GenerateRequest(prompt="春眠", form="wujue", seed=7).sampling_params(200)
"""

from __future__ import annotations

import dataclasses
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
)

from textgen.poetry.forms import ALIASES, FORMS, MAX_LINE_LENGTH, MAX_LINES
from textgen.sampling import SamplingParams

# The service's limits: each is at most the library's own bound of the same name (tested).
MAX_PROMPT_CHARS = 2000
MAX_NEW_TOKENS = 1024
MAX_N = 8
MAX_TEMPERATURE = 2.0
MAX_TOP_K = 1000
MAX_REPETITION_PENALTY = 2.0
MAX_NO_REPEAT_NGRAM = 8
MAX_STOP = 4  # stop strings per request (as OpenAI)
MAX_STOP_CHARS = 32
MAX_ACROSTIC_CHARS = 16
MAX_SEED = 2**53 - 1  # exact in every JSON client (JavaScript numbers included)
MAX_MODEL_NAME = 128
MAX_TIMEOUT = 3600.0  # seconds; the server's own deadline (TEXTGEN_DEADLINE) caps it further


def _valid_unicode(s: str) -> str:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text") from None
    return s


def text(**constraints: Any) -> Any:
    """A string type that refuses lone surrogates, with StringConstraints (shown in the schema)."""
    return Annotated[str, StringConstraints(**constraints), AfterValidator(_valid_unicode)]


Text = text()

# A form the server knows: a name, or 1-MAX_LINES line lengths of 1-MAX_LINE_LENGTH characters.
_LENGTH = "|".join(str(i) for i in range(MAX_LINE_LENGTH, 0, -1))
_NAMES = "|".join(re.escape(name) for name in (*FORMS, *ALIASES))
FORM_PATTERN = rf"^(?:{_NAMES}|(?:{_LENGTH})(?:[,，](?:{_LENGTH})){{0,{MAX_LINES - 1}}})$"

# SERVICE_LIMITS: the schema of the SamplingParams fields the service bounds more tightly or
# describes; any other field of SamplingParams is taken as it is (type and default).
SERVICE_LIMITS: dict[str, tuple[Any, dict[str, Any]]] = {
    "temperature": (float, {"ge": 0.0, "le": MAX_TEMPERATURE, "description": "0 = greedy (argmax)"}),
    "top_k": (int, {"ge": 0, "le": MAX_TOP_K, "description": "keep the k most likely tokens; 0 = off"}),
    "top_p": (float, {"gt": 0.0, "le": 1.0, "description": "nucleus sampling; 1 = off"}),
    "repetition_penalty": (float, {"ge": 1.0, "le": MAX_REPETITION_PENALTY, "description": "1 = off"}),
    "no_repeat_ngram_size": (
        int, {"ge": 0, "le": MAX_NO_REPEAT_NGRAM, "description": "forbid repeating n-grams; 0 = off"},
    ),
    "stop": (
        list[text(min_length=1, max_length=MAX_STOP_CHARS)], {"max_length": MAX_STOP, "description": "stop strings (not included in the text)"},
    ),
    "form": (
        text(pattern=FORM_PATTERN) | None,
        {"description": '"wujue", "qijue", "wulv", "qilv" (or 五绝, 七律...) or line lengths "5,5,7,7"'},
    ),
    "acrostic": (
        text(min_length=1, max_length=MAX_ACROSTIC_CHARS) | None,
        {"description": "first characters of the lines"},
    ),
    "rhyme": (bool, {"description": "make the even lines rhyme (with form)"}),
    "tones": (bool, {"description": "follow the 平仄 tone rules (5- or 7-character lines)"}),
}  # fmt: skip
PER_ROUTE = ("max_new_tokens",)  # named per route: max_new_tokens (/generate), max_tokens (/v1)


def _http_type(tp: Any) -> Any:
    """A SamplingParams annotation as the schema's: str -> Text, tuple[X, ...] -> list[X]."""
    if tp is str:
        return Text
    origin, args = get_origin(tp), get_args(tp)
    if origin is tuple:
        return list[_http_type(args[0])]  # type: ignore[misc]
    if origin in (Union, types.UnionType):
        return Union[tuple(_http_type(a) for a in args)]  # noqa: UP007
    return tp


def _param_fields() -> dict[str, Any]:
    hints = get_type_hints(SamplingParams)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(SamplingParams):
        if f.name in PER_ROUTE or not f.init:
            continue
        tp, extra = SERVICE_LIMITS.get(f.name, (_http_type(hints[f.name]), {}))
        if f.default is not dataclasses.MISSING:
            default = list(f.default) if isinstance(f.default, tuple) else f.default
        else:
            default = f.default_factory()  # type: ignore[misc]
        out[f.name] = (tp, Field(default, **extra))
    return out


PARAM_NAMES = tuple(_param_fields())


class _Knobs(BaseModel):
    # A misspelt knob is an error, not silently ignored; strict: the types are the schema's (no 0 for
    # false, no "5" for 5), so what the schema refuses the server refuses too.
    model_config = ConfigDict(extra="forbid", strict=True)

    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="same seed, same text; row r uses seed + r")
    n: int = Field(1, ge=1, le=MAX_N, description="completions per prompt")
    stream: bool = Field(False, description="send Server-Sent Events as the text is generated")

    @field_validator("stop", mode="before", check_fields=False)
    @classmethod
    def _split_stop(cls, v: object) -> object:
        """OpenAI style: stop may be one string or a list of them."""
        return [v] if isinstance(v, str) else v

    def sampling_params(self, max_new_tokens: int) -> SamplingParams:
        """The library's request (validated later, once, by the serving layer)."""
        return SamplingParams(max_new_tokens=max_new_tokens, **{k: getattr(self, k) for k in PARAM_NAMES})


SamplingFields = create_model(
    "SamplingFields", __base__=_Knobs, __doc__="The sampling knobs of every route", **_param_fields()
)


class GenerateRequest(SamplingFields):  # type: ignore[valid-type,misc]
    prompt: text(max_length=MAX_PROMPT_CHARS) = Field("", description="text the completion continues")
    model: text(max_length=MAX_MODEL_NAME) | None = Field(
        None, description="a loaded model; may be left out when only one is loaded"
    )
    max_new_tokens: int = Field(200, ge=1, le=MAX_NEW_TOKENS)
    timeout: float | None = Field(
        None, gt=0, le=MAX_TIMEOUT,
        description="seconds this request may take, queueing included (then 504); at most the server's deadline",
    )  # fmt: skip


class CompletionOut(BaseModel):
    text: str
    finish_reason: str = Field(description='"length", "eos" or "stop"')
    tokens: int = Field(description="generated tokens")
    title: str | None = Field(
        None,
        description="the title the model wrote (a titled model asked for a form and no title): "
        "also the first line of text",
    )


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class GenerateResponse(BaseModel):
    model: str
    text: str = Field(description="the first completion")
    completions: list[CompletionOut]
    seed: int
    cached: bool
    usage: Usage


class ErrorResponse(BaseModel):
    """Errors of the native routes (/generate, /health...)."""

    error: str
    type: str


# --- OpenAI completions API (the subset that makes sense for a char-RNN) ---


class OpenAIError(BaseModel):
    message: str
    type: str = Field(description='"invalid_request_error", "rate_limit_error", "timeout" or "server_error"')
    param: str | None = Field(description="the request field at fault, when there is one")
    code: str | None = Field(description="textgen's error type (the native routes' \"type\")")


class OpenAIErrorResponse(BaseModel):
    """Errors of /v1/*, in OpenAI's shape so the openai client shows the message."""

    error: OpenAIError


Prompt = text(max_length=MAX_PROMPT_CHARS)


class CompletionRequest(SamplingFields):  # type: ignore[valid-type,misc]
    """POST /v1/completions. Unknown OpenAI fields (echo, logprobs, penalties...) are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    model: text(max_length=MAX_MODEL_NAME)
    prompt: Prompt | Annotated[list[Prompt], Field(min_length=1, max_length=MAX_N)] = Field(
        "", description=f"one prompt or a list of 1 to {MAX_N} (each gets n completions)"
    )
    max_tokens: int = Field(16, ge=1, le=MAX_NEW_TOKENS)


class CompletionChoice(BaseModel):
    text: str
    index: int
    logprobs: None = None
    finish_reason: Literal["stop", "length"] | None


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[CompletionChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "textgen"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
