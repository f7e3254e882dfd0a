"""The OpenAI API: POST /v1/completions, POST /v1/chat/completions, GET /v1/models and
GET /v1/models/{id}, so the official `openai` client works (plus textgen's knobs: top_k,
repetition_penalty, form, acrostic, rhyme... via extra_body).

    client = openai.OpenAI(base_url="http://localhost:8000/v1", api_key="unused")
    client.completions.create(model="tang", prompt="春", max_tokens=32, seed=7, extra_body={"top_k": 20})
    client.chat.completions.create(model="tang", messages=[{"role": "user", "content": "春"}], seed=7)

finish_reason follows OpenAI: "stop" for <eos> or a stop string, "length" otherwise. A choice also
carries the completion's other wire fields (tokens, title...). Errors have OpenAI's shape,
{"error": {"message", "type", "param", "code"}} (service/app.py).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.engine import DeadlineExceeded, EngineError, Finish, Piece
from service.responses import SSEResponse, UTF8JSONResponse, sse
from service.routes.deps import ServingDep
from service.routes.generate import SSE_DOC, usage
from service.schemas import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    ModelCard,
    ModelList,
    OpenAIErrorResponse,
)
from service.serving import ModelNotFound, Plan, Serving
from textgen.sampling import Completion

router = APIRouter(prefix="/v1", tags=["openai"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorResponse} for code in (404, 413, 422, 429, 504)
}

STARTED = int(time.time())


def finish_reason(reason: str) -> str:
    return "length" if reason == "length" else "stop"


def choice(index: int, c: Completion) -> dict[str, Any]:
    """A /v1/completions choice: the completion's wire form with OpenAI's index, logprobs and
    finish_reason."""
    reason = finish_reason(c.finish_reason)
    return {"index": index, **c.to_dict(echo=False), "logprobs": None, "finish_reason": reason}


def chat_choice(index: int, c: Completion) -> dict[str, Any]:
    """A /v1/chat/completions choice: the same, its text as the assistant's message."""
    d = choice(index, c)
    return {"index": index, "message": {"role": "assistant", "content": d.pop("text")}} | d


def piece_chunk(ev: Piece) -> dict[str, Any]:
    return {"index": ev.index, "text": ev.text, "logprobs": None, "finish_reason": None}


def chat_piece_chunk(ev: Piece) -> dict[str, Any]:
    delta = {"role": "assistant", "content": ev.text}
    return {"index": ev.index, "delta": delta, "logprobs": None, "finish_reason": None}


def chat_finish_chunk(index: int, c: Completion) -> dict[str, Any]:
    d = chat_choice(index, c)
    del d["message"]
    return {"index": index, "delta": {}} | d


async def sse_chunks(serving: Serving, plan: Plan, head: dict, on_piece: Callable, on_finish: Callable
                     ) -> AsyncIterator[str]:  # fmt: skip
    try:
        async for ev in serving.run(plan):
            if isinstance(ev, Piece):
                chunk = on_piece(ev)
            elif isinstance(ev, Finish):
                chunk = on_finish(ev.index, ev.completion)
            else:
                continue
            yield sse(head | {"choices": [chunk]})
    except DeadlineExceeded as e:
        yield sse({"error": {"message": str(e), "type": "timeout", "param": None, "code": "timeout"}})
    except EngineError as e:
        yield sse(
            {"error": {"message": str(e), "type": "server_error", "param": None, "code": "internal_error"}}
        )
    yield sse("[DONE]")


def _head(plan: Plan, prefix: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"{prefix}-{secrets.token_hex(12)}",
        "object": kind,
        "created": int(time.time()),
        "model": plan.engine.name,
        "system_fingerprint": plan.engine.generator.digest[:16],
    }


@router.post("/completions", response_model=CompletionResponse, responses={**ERRORS, 200: SSE_DOC})
async def completions(req: CompletionRequest, request: Request, serving: ServingDep) -> Response:
    """OpenAI-compatible text completion."""
    prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
    plan = await serving.start(req.model, req.request(prompts, req.max_tokens), stream=req.stream)
    head = _head(plan, "cmpl", "text_completion")
    if req.stream:
        finish = lambda i, c: choice(i, c) | {"text": ""}  # noqa: E731  # its text came in pieces
        return SSEResponse(sse_chunks(serving, plan, head, piece_chunk, finish), on_close=plan.cancel)
    result = await serving.collect(plan, request)
    choices = [choice(i, c) for i, c in enumerate(result.completions)]
    return UTF8JSONResponse(head | {"choices": choices, "usage": usage(result).model_dump()})


@router.post("/chat/completions", response_model=ChatCompletionResponse, responses={**ERRORS, 200: SSE_DOC})
async def chat_completions(req: ChatCompletionRequest, request: Request, serving: ServingDep) -> Response:
    """OpenAI-compatible chat completion: the last (user's) message is the prompt."""
    plan = await serving.start(req.model, req.request([req.prompt()], req.budget()), stream=req.stream)
    if req.stream:
        head = _head(plan, "chatcmpl", "chat.completion.chunk")
        chunks = sse_chunks(serving, plan, head, chat_piece_chunk, chat_finish_chunk)
        return SSEResponse(chunks, on_close=plan.cancel)
    head = _head(plan, "chatcmpl", "chat.completion")
    result = await serving.collect(plan, request)
    choices = [chat_choice(i, c) for i, c in enumerate(result.completions)]
    return UTF8JSONResponse(head | {"choices": choices, "usage": usage(result).model_dump()})


@router.get("/models")
async def models(serving: ServingDep) -> ModelList:
    """The loaded models."""
    return ModelList(data=[ModelCard(id=name, created=STARTED) for name in serving.engines])


@router.get("/models/{model}", responses={404: {"model": OpenAIErrorResponse}})
async def model_card(model: str, serving: ServingDep) -> ModelCard:
    """One loaded model (404 model_not_found when it is not loaded)."""
    if model not in serving.engines:
        raise ModelNotFound(f"model {model[:64]!r} is not loaded (loaded: {', '.join(serving.engines)})")
    return ModelCard(id=model, created=STARTED)
