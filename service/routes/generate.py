"""POST /generate (JSON, or SSE with "stream": true) and POST /generate/stream (always SSE).

    curl -s localhost:8000/generate -d '{"prompt": "春", "form": "wujue", "seed": 7}'

Stream events: {"index", "text"} for each new piece of text; when a completion ends, its wire form
(as in the JSON response: "finish_reason", "tokens", "title"...) with "index" and "text": ""; a last
{"done": true, "model", "seed", "cached", "usage"}. The pieces of index 0 concatenated equal the
JSON response's "text" for the same seed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.engine import DeadlineExceeded, EngineError, Finish, Piece
from service.responses import SSEResponse, UTF8JSONResponse, sse
from service.routes.deps import ServingDep
from service.schemas import ErrorResponse, GenerateRequest, GenerateResponse, Usage
from service.serving import Plan, Result, Serving

router = APIRouter(tags=["generate"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 413, 422, 429, 504)
}
SSE_DOC = {"content": {"text/event-stream": {}}, "description": "Server-Sent Events when stream is true"}


def to_response(result: Result) -> dict[str, Any]:
    """The JSON body of a result: each completion in its wire form (Completion.to_dict(echo=False))."""
    comps = [c.to_dict(echo=False) for c in result.completions]
    return {"model": result.model, "text": comps[0]["text"], "completions": comps, "seed": result.seed,
            "cached": result.cached, "usage": usage(result).model_dump()}  # fmt: skip


def usage(result: Result) -> Usage:
    total = result.prompt_tokens + result.completion_tokens
    return Usage(
        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens, total_tokens=total
    )


async def sse_events(serving: Serving, plan: Plan) -> AsyncIterator[str]:
    try:
        async for ev in serving.run(plan):
            if isinstance(ev, Piece):
                yield sse({"index": ev.index, "text": ev.text})
            elif isinstance(ev, Finish):  # the completion's wire form; its text came in pieces
                yield sse({"index": ev.index, **ev.completion.to_dict(echo=False), "text": ""})
            else:
                done = {"done": True, "model": ev.model, "seed": ev.seed, "cached": ev.cached}
                yield sse(done | {"usage": usage(ev).model_dump()})
    except DeadlineExceeded as e:
        yield sse({"error": str(e), "type": "timeout"})
    except EngineError as e:
        yield sse({"error": str(e), "type": "internal_error"})


async def _generate(req: GenerateRequest, request: Request, serving: Serving, stream: bool) -> Response:
    plan = await serving.start(
        req.model, req.request([req.prompt], req.max_new_tokens), stream=stream, timeout=req.timeout
    )
    if stream:
        events = sse_events(serving, plan)
        return SSEResponse(events, on_close=plan.cancel)
    result = await serving.collect(plan, request)
    return UTF8JSONResponse(to_response(result))


@router.post("/generate", response_model=GenerateResponse, responses={**ERRORS, 200: SSE_DOC})
async def generate(req: GenerateRequest, request: Request, serving: ServingDep) -> Response:
    """Generate completions of a prompt (JSON, or Server-Sent Events when stream is true)."""
    return await _generate(req, request, serving, req.stream)


@router.post("/generate/stream", responses={**ERRORS, 200: SSE_DOC})
async def generate_stream(req: GenerateRequest, request: Request, serving: ServingDep) -> Response:
    """Same as /generate with stream forced on: Server-Sent Events as the text is generated."""
    return await _generate(req, request, serving, True)
