"""Request and response bodies of the HTTP API, with a bound on every field.

The bounds are the service's limits (nanochat's MAX_* constants): a request outside them is a 422
before any model work. Field names match textgen.sampling.SamplingParams and the CLI flags.

    GenerateRequest(prompt="春眠", form="wujue", seed=7).sampling_params()
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from textgen.sampling import SamplingParams

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
MAX_FORM_CHARS = 64
MAX_SEED = 2**53 - 1  # exact in every JSON client (JavaScript numbers included)
MAX_MODEL_NAME = 128
MAX_TIMEOUT = 3600.0  # seconds; the server's own deadline (TEXTGEN_DEADLINE) caps it further


def _stop_list(v: object) -> object:
    """OpenAI style: stop may be one string or a list of them."""
    return [v] if isinstance(v, str) else v


class SamplingFields(BaseModel):
    """The sampling knobs shared by /generate and /v1/completions."""

    temperature: float = Field(1.0, ge=0.0, le=MAX_TEMPERATURE, description="0 = greedy (argmax)")
    top_k: int = Field(0, ge=0, le=MAX_TOP_K, description="keep the k most likely tokens; 0 = off")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="nucleus sampling; 1 = off")
    repetition_penalty: float = Field(1.0, ge=1.0, le=MAX_REPETITION_PENALTY, description="1 = off")
    no_repeat_ngram_size: int = Field(
        0, ge=0, le=MAX_NO_REPEAT_NGRAM, description="forbid repeating n-grams; 0 = off"
    )
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="same seed, same text; row r uses seed + r")
    n: int = Field(1, ge=1, le=MAX_N, description="completions per prompt")
    stop: list[str] = Field(
        default_factory=list, max_length=MAX_STOP, description="stop strings (not included in the text)"
    )
    form: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_FORM_CHARS,
        description='"wujue", "qijue", "wulv", "qilv" or line lengths "5,5,5,5"',
    )
    acrostic: str | None = Field(
        None, min_length=1, max_length=MAX_ACROSTIC_CHARS, description="first characters of the lines"
    )
    rhyme: bool = Field(False, description="make the even lines rhyme (with form)")
    tones: bool = Field(False, description="follow the 平仄 tone rules (5- or 7-character lines)")
    stream: bool = Field(False, description="send Server-Sent Events as the text is generated")

    _split_stop = field_validator("stop", mode="before")(_stop_list)

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, v: list[str]) -> list[str]:
        for s in v:
            if not 1 <= len(s) <= MAX_STOP_CHARS:
                raise ValueError(f"each stop string needs 1 to {MAX_STOP_CHARS} characters")
        return v

    def sampling_params(self, max_new_tokens: int) -> SamplingParams:
        return SamplingParams(
            max_new_tokens=max_new_tokens,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            repetition_penalty=self.repetition_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
            stop=tuple(self.stop),
            form=self.form,
            acrostic=self.acrostic,
            rhyme=self.rhyme,
            tones=self.tones,
        )


class GenerateRequest(SamplingFields):
    model_config = ConfigDict(extra="forbid")  # a misspelt knob is an error, not silently ignored

    prompt: str = Field("", max_length=MAX_PROMPT_CHARS, description="text the completion continues")
    model: str | None = Field(
        None, max_length=MAX_MODEL_NAME, description="optional when one model is loaded"
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
    error: str
    type: str


# --- OpenAI completions API (the subset that makes sense for a char-RNN) ---


class CompletionRequest(SamplingFields):
    """POST /v1/completions. Unknown OpenAI fields (echo, logprobs, penalties...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(max_length=MAX_MODEL_NAME)
    prompt: str | list[str] = Field("", description="one prompt or a list (each gets n completions)")
    max_tokens: int = Field(16, ge=1, le=MAX_NEW_TOKENS)

    @field_validator("prompt")
    @classmethod
    def _check_prompt(cls, v: str | list[str]) -> str | list[str]:
        prompts = [v] if isinstance(v, str) else v
        if not 1 <= len(prompts) <= MAX_N:
            raise ValueError(f"give 1 to {MAX_N} prompts")
        if any(len(p) > MAX_PROMPT_CHARS for p in prompts):
            raise ValueError(f"a prompt is longer than {MAX_PROMPT_CHARS} characters")
        return v


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
