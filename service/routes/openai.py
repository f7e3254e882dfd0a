"""The OpenAI completions API: POST /v1/completions and GET /v1/models, so the official `openai`
client works (plus textgen's knobs: top_k, repetition_penalty, form, acrostic, rhyme via extra_body).

    client = openai.OpenAI(base_url="http://localhost:8000/v1", api_key="unused")
    client.completions.create(model="tang", prompt="春", max_tokens=32, seed=7, extra_body={"top_k": 20})

finish_reason follows OpenAI: "stop" for <eos> or a stop string, "length" otherwise. Errors have
OpenAI's shape, {"error": {"message", "type", "param", "code"}} (service/app.py).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.engine import DeadlineExceeded, EngineError, Finish, Piece
from service.responses import SSEResponse, UTF8JSONResponse, sse
from service.routes.deps import ServingDep
from service.routes.generate import SSE_DOC, usage
from service.schemas import (
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    ModelCard,
    ModelList,
    OpenAIErrorResponse,
)
from service.serving import Plan, Result, Serving

router = APIRouter(prefix="/v1", tags=["openai"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorResponse} for code in (404, 413, 422, 429, 504)
}

STARTED = int(time.time())


def finish_reason(reason: str) -> str:
    return "length" if reason == "length" else "stop"


async def sse_chunks(serving: Serving, plan: Plan, head: dict) -> AsyncIterator[str]:
    try:
        async for ev in serving.run(plan):
            if isinstance(ev, Piece):
                choice = {"text": ev.text, "index": ev.index, "logprobs": None, "finish_reason": None}
            elif isinstance(ev, Finish):
                reason = finish_reason(ev.completion.finish_reason)
                choice = {"text": "", "index": ev.index, "logprobs": None, "finish_reason": reason}
            else:
                continue
            yield sse(head | {"choices": [choice]})
    except DeadlineExceeded as e:
        yield sse({"error": {"message": str(e), "type": "timeout", "param": None, "code": "timeout"}})
    except EngineError as e:
        yield sse(
            {"error": {"message": str(e), "type": "server_error", "param": None, "code": "internal_error"}}
        )
    yield sse("[DONE]")


def to_response(result: Result, head: dict) -> CompletionResponse:
    choices = [
        CompletionChoice(text=c.text, index=i, finish_reason=finish_reason(c.finish_reason))  # type: ignore[arg-type]
        for i, c in enumerate(result.completions)
    ]
    return CompletionResponse(**head, choices=choices, usage=usage(result))


@router.post("/completions", response_model=CompletionResponse, responses={**ERRORS, 200: SSE_DOC})
async def completions(req: CompletionRequest, request: Request, serving: ServingDep) -> Response:
    """OpenAI-compatible text completion."""
    prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
    params = req.sampling_params(req.max_tokens)
    plan = await serving.start(req.model, prompts, params, n=req.n, seed=req.seed, stream=req.stream)
    head = {
        "id": f"cmpl-{secrets.token_hex(12)}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": plan.engine.name,
        "system_fingerprint": plan.engine.generator.digest[:16],
    }
    if req.stream:
        chunks = sse_chunks(serving, plan, head)
        return SSEResponse(chunks, on_close=plan.cancel)
    result = await serving.collect(plan, request)
    return UTF8JSONResponse(to_response(result, head).model_dump())


@router.get("/models")
async def models(serving: ServingDep) -> ModelList:
    """The loaded models."""
    return ModelList(data=[ModelCard(id=name, created=STARTED) for name in serving.engines])
