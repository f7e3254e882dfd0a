"""Response classes: JSON as real UTF-8 (not \\u escapes) and Server-Sent Events.

return UTF8JSONResponse({"text": "床前明月光"})
return SSEResponse(sse_events(plan), on_close=plan.cancel)   # cancel the rows however it ends
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send


def dumps(obj: Any) -> str:
    """Compact JSON with real UTF-8 characters; ASCII escapes only if a string holds a lone surrogate
    (an error message echoing a bad field name, say), which UTF-8 cannot carry."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text


class UTF8JSONResponse(JSONResponse):
    media_type = "application/json"  # charset=utf-8 is added by Starlette for text-like types only

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def sse(data: Any, event: str | None = None) -> str:
    """One Server-Sent Event; `data` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


class SSEResponse(StreamingResponse):
    """text/event-stream that always runs `on_close` when the stream ends, however it ends
    (finished, client gone, server shutting down), so abandoned rows leave the batch at once."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], Any] | None = None):
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.on_close is not None:
                self.on_close()
