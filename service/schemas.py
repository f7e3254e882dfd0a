"""Request and response bodies of the HTTP API, derived from the library's request and completion.

The sampling knobs come from textgen.sampling.SamplingParams: each of its fields is a field of
/generate and /v1/* with the same name, type and default, and its bound is the service's row of the
one table of bounds, SERVICE.bounds() (textgen/sampling/params.py), so a knob added to the library,
bound and all, shows up here (and in /openapi.json) without a change. A completion's fields come from
Completion's wire form the same way. What is only the schema's: the pattern of known forms, the
names of the rhyme schemes, descriptions, and the fields of the routes themselves (model, timeout).
Text fields refuse lone surrogates, which no UTF-8 encoder accepts.

    GenerateRequest(prompt="春眠", form="wujue", seed=7).request(["春眠"], 200)   # a SamplingRequest
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
from textgen.poetry.rhyme import SCHEMES
from textgen.sampling.params import SERVICE, Completion, SamplingParams, SamplingRequest, wire_fields

LIMITS = SERVICE  # the service's row of textgen's table of bounds
BOUNDS = LIMITS.bounds()
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

# Documentation of the knobs (their types, defaults and bounds come from the library).
DESCRIPTIONS = {
    "temperature": "0 = greedy (argmax)",
    "top_k": "keep the k most likely tokens; 0 = off",
    "top_p": "nucleus sampling; 1 = off",
    "repetition_penalty": "1 = off",
    "no_repeat_ngram_size": "forbid repeating n-grams; 0 = off",
    "stop": "stop strings (not included in the text): one string or a list",
    "form": '"wujue", "qijue", "wulv", "qilv" (or 五绝, 七律...) or line lengths "5,5,7,7"',
    "acrostic": "first characters of the lines",
    "rhyme": "make the even lines rhyme (with form)",
    "tones": "follow the 平仄 tone rules (5- or 7-character lines)",
    "title": "命题: the poem's title, for models trained with titles",
    "tune": "a 词牌, for models trained with tunes",
    "rhyme_scheme": "平水韵 or 中华新韵; default: the model's own",
    "min_new_tokens": "<eos> is held back until this many tokens",
    "finish_reason": '"length", "eos" or "stop"',
    "tokens": "generated tokens",
}
# Formats the schema states beyond the bounds (a field's type within its bound).
FORMATS: dict[str, Any] = {"form": {"pattern": FORM_PATTERN}, "rhyme_scheme": Literal[SCHEMES]}
PER_ROUTE = ("max_new_tokens",)  # named per route: max_new_tokens (/generate), max_tokens (/v1)


def bounded(name: str, tp: Any, rule: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A library type with its rule (Limits.bounds()) as (schema type, Field arguments):
    str -> Text with its length, tuple[str, ...] -> a list of such, numbers -> ge/gt/le (finite)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        inner = [bounded(name, a, rule) for a in args if a is not type(None)]
        return Union[tuple(t for t, _ in inner) + (type(None),)], inner[0][1]  # noqa: UP007
    if tp is str:
        fmt = FORMATS.get(name)
        if fmt is not None and not isinstance(fmt, dict):
            return fmt, {}
        return text(**{k: v for k, v in rule.items() if k in ("min_length", "max_length")} | (fmt or {})), {}
    if origin is tuple:
        item, _ = bounded(name, args[0], rule.get("items", {}))
        return list[item], {k: v for k, v in rule.items() if k == "max_length"}  # type: ignore[valid-type]
    if tp is float:
        return float, {k: v for k, v in rule.items() if k in ("ge", "gt", "le")} | {"allow_inf_nan": False}
    if tp is int:
        return int, {k: v for k, v in rule.items() if k in ("ge", "gt", "le")}
    return tp, {}


def _param_fields() -> dict[str, Any]:
    hints = get_type_hints(SamplingParams)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(SamplingParams):
        if f.name in PER_ROUTE or not f.init:
            continue
        tp, extra = bounded(f.name, hints[f.name], BOUNDS.get(f.name, {}))
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        if f.default is dataclasses.MISSING:
            default = f.default_factory()  # type: ignore[misc]
        out[f.name] = (tp, Field(default, description=DESCRIPTIONS.get(f.name), **extra))
    return out


PARAM_NAMES = tuple(_param_fields())
Prompt = text(**BOUNDS["prompt"])


class _Knobs(BaseModel):
    # A misspelt knob is an error, not silently ignored; strict: the types are the schema's (no 0 for
    # false, no "5" for 5), so what the schema refuses the server refuses too.
    model_config = ConfigDict(extra="forbid", strict=True)

    seed: int | None = Field(None, **BOUNDS["seed"], description="same seed, same text; row r uses seed + r")
    n: int = Field(1, **BOUNDS["n"], description="completions per prompt")
    stream: bool = Field(False, description="send Server-Sent Events as the text is generated")

    @field_validator("stop", mode="before", check_fields=False)
    @classmethod
    def _split_stop(cls, v: object) -> object:
        """OpenAI style: stop may be one string or a list of them."""
        return [v] if isinstance(v, str) else v

    def request(self, prompts: list[str], max_new_tokens: int) -> SamplingRequest:
        """The library's request (checked once, by Generator.prepare, within SERVICE's limits)."""
        params = SamplingParams(max_new_tokens=max_new_tokens, **{k: getattr(self, k) for k in PARAM_NAMES})
        # Knobs the client left out take the model's generation defaults (its generation.json).
        given = frozenset(k for k in PARAM_NAMES if k in self.model_fields_set) | {"max_new_tokens"}
        return SamplingRequest(prompts, params, self.n, self.seed, given)


SamplingFields = create_model(
    "SamplingFields", __base__=_Knobs, __doc__="The sampling knobs of every route", **_param_fields()
)


class GenerateRequest(SamplingFields):  # type: ignore[valid-type,misc]
    prompt: Prompt = Field("", description="text the completion continues")
    model: text(max_length=MAX_MODEL_NAME) | None = Field(
        None, description="a loaded model; may be left out when only one is loaded"
    )
    max_new_tokens: int = Field(200, **BOUNDS["max_new_tokens"])
    timeout: float | None = Field(
        None, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False,
        description="seconds this request may take, queueing included (then 504); at most the server's deadline",
    )  # fmt: skip


def _wire_fields(skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Completion's wire form (Completion.to_dict(echo=False)) as schema fields."""
    hints = get_type_hints(Completion)
    return {
        f.name: (hints[f.name], Field(... if f.default is dataclasses.MISSING else f.default,
                                      description=DESCRIPTIONS.get(f.name)))
        for f in wire_fields() if f.name not in skip
    }  # fmt: skip


CompletionOut = create_model("CompletionOut", __doc__="One completion (its wire form)", **_wire_fields())


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class GenerateResponse(BaseModel):
    model: str
    text: str = Field(description="the first completion")
    completions: list[CompletionOut]  # type: ignore[valid-type]
    seed: int
    cached: bool
    usage: Usage


class ErrorResponse(BaseModel):
    """Errors of the native routes (/generate, /health...)."""

    error: str
    type: str


# --- OpenAI API (the subset that makes sense for a char-RNN) ---


class OpenAIError(BaseModel):
    message: str
    type: str = Field(description='"invalid_request_error", "rate_limit_error", "timeout" or "server_error"')
    param: str | None = Field(description="the request field at fault, when there is one")
    code: str | None = Field(description="textgen's error type (the native routes' \"type\")")


class OpenAIErrorResponse(BaseModel):
    """Errors of /v1/*, in OpenAI's shape so the openai client shows the message."""

    error: OpenAIError


def ignored(*names: str) -> dict[str, Any]:
    """OpenAI fields a client may send that textgen accepts and ignores (documented in the schema)."""
    return {name: (Any, Field(None, description="accepted and ignored")) for name in names}


_Completion = create_model(
    "_Completion", __base__=SamplingFields,
    **ignored("echo", "logprobs", "best_of", "frequency_penalty", "presence_penalty", "logit_bias",
              "suffix", "user", "stream_options"),
)  # fmt: skip


class CompletionRequest(_Completion):  # type: ignore[valid-type,misc]
    """POST /v1/completions. OpenAI fields textgen does not use are accepted and ignored (they are
    listed in the schema); any other unknown field is refused."""

    model: text(max_length=MAX_MODEL_NAME)
    prompt: Prompt | Annotated[list[Prompt], Field(min_length=1, max_length=LIMITS.prompts)] = Field(
        "", description=f"one prompt or a list of 1 to {LIMITS.prompts} (each gets n completions)"
    )
    max_tokens: int = Field(16, **BOUNDS["max_new_tokens"])


Reason = Literal["stop", "length"]
_choice = _wire_fields(skip=("finish_reason",))
CompletionChoice = create_model(
    "CompletionChoice", index=(int, ...), logprobs=(None, None), finish_reason=(Reason | None, ...), **_choice
)


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[CompletionChoice]  # type: ignore[valid-type]
    usage: Usage | None = None


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["text"]
    text: Prompt


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # name, tool_calls...: ignored

    role: Literal["system", "developer", "user", "assistant"]
    content: Prompt | Annotated[list[TextPart], Field(max_length=LIMITS.prompts)]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


_Chat = create_model(
    "_Chat", __base__=SamplingFields,
    **ignored("logprobs", "top_logprobs", "frequency_penalty", "presence_penalty", "logit_bias", "user",
              "stream_options", "response_format", "tools", "tool_choice", "parallel_tool_calls", "store",
              "metadata", "service_tier", "modalities", "reasoning_effort"),
)  # fmt: skip


class ChatCompletionRequest(_Chat):  # type: ignore[valid-type,misc]
    """POST /v1/chat/completions. The prompt is the last message's text, which must be the user's
    (a poem model continues text; it holds no conversation): earlier messages are ignored."""

    model: text(max_length=MAX_MODEL_NAME)
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=64)]
    max_tokens: int | None = Field(None, **BOUNDS["max_new_tokens"], description="default 16")
    max_completion_tokens: int | None = Field(
        None, **BOUNDS["max_new_tokens"], description="the same as max_tokens (OpenAI's newer name)"
    )

    @field_validator("messages")
    @classmethod
    def _ends_with_the_user(cls, v: list[ChatMessage]) -> list[ChatMessage]:
        if v[-1].role != "user":
            raise ValueError(f"the last message must be the user's (the prompt), not the {v[-1].role}'s")
        return v

    def prompt(self) -> str:
        return self.messages[-1].text()

    def budget(self) -> int:
        return self.max_completion_tokens or self.max_tokens or 16


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


ChatChoice = create_model(
    "ChatChoice", index=(int, ...), message=(AssistantMessage, ...), logprobs=(None, None),
    finish_reason=(Reason | None, ...), **_wire_fields(skip=("finish_reason", "text")),
)  # fmt: skip


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[ChatChoice]  # type: ignore[valid-type]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "textgen"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
