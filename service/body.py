"""Reading request bodies: bounded in size and in time, and JSON read strictly.

BodyMiddleware reads the whole body before the app sees it: 413 over `max_bytes` (at once from
Content-Length), 408 when the client has not sent all of it within `timeout` seconds (the
connection is then closed, so a slow client cannot hold it open). A JSON body is checked by
check_json(), which names what Python's json.loads would misread or fail on as a 422: a body that is
not UTF-8, nesting deeper than MAX_DEPTH, a key given twice, NaN or Infinity (not JSON), an integer
of more than MAX_INT_DIGITS digits. Then the app reads the same bytes.

    check_json(b'{"seed": 1, "seed": 2}')    # BadBody: seed: given twice in one object
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 32  # every request schema nests 3 levels at most
MAX_INT_DIGITS = 30  # every integer bound has at most 19 digits
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


class BadBody(Exception):
    """A body the service will not read (422), in one line naming the field and the rule."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


class _Odd:
    """What the parser read in place of a value JSON does not allow (NaN) or Python will not (huge ints)."""

    def __init__(self, problem: str):
        self.problem = problem


def check_json(body: bytes) -> Any:
    """The parsed body, or BadBody naming the field and the rule."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadBody(f"request body is not UTF-8 (byte {e.start} cannot start a character)") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise BadBody(f"request body nests deeper than {MAX_DEPTH} levels of arrays and objects")
    odd: list[_Odd] = []

    def mark(problem: str) -> _Odd:
        odd.append(_Odd(problem))
        return odd[-1]

    def parse_int(digits: str) -> int | _Odd:
        n = len(digits.lstrip("-"))
        return int(digits) if n <= MAX_INT_DIGITS else mark(f"an integer of {n} digits is out of range")

    try:
        doc = json.loads(
            text,
            object_pairs_hook=_unique,
            parse_int=parse_int,
            parse_constant=lambda name: mark(f"{name} is not a JSON number"),
        )
    except json.JSONDecodeError as e:
        raise BadBody(
            f"request body is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    if odd:
        loc, problem = next(_find(doc, []))
        raise BadBody(f"{_path(loc)}: {problem}", str(loc[0]) if loc else None)
    return doc


class _Duplicate(BadBody):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(f"{_path([key])}: given twice in one object", key)
        out[key] = value
    return out


def _depth(text: str) -> int:
    """How deep arrays and objects nest (strings left out)."""
    depth = deepest = 0
    for ch in re.sub(r"[^\[\]{}]", "", _STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _find(x: Any, loc: list) -> Any:
    if isinstance(x, _Odd):
        yield loc, x.problem
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from _find(v, [*loc, k])
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _find(v, [*loc, i])


def _path(loc: list) -> str:
    """stop.0, a key cut to 40 characters: an error never echoes a huge input."""
    parts = [str(p) if len(str(p)) <= 40 else str(p)[:39] + "…" for p in loc]
    return ".".join(parts) or "body"


def _is_json(scope: Scope) -> bool:
    """FastAPI reads a body as JSON when it says so, or says nothing."""
    ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    return (
        not ctype
        or ctype == b"application/json"
        or (ctype.startswith(b"application/") and ctype.endswith(b"+json"))
    )


class BodyMiddleware:
    """Reads the body first: 413 over `max_bytes`, 408 after `timeout` s, 422 for bad JSON (above).
    `error(scope, status, message, kind, param, headers)` makes the error response."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float, error: Callable[..., Any]):
        self.app, self.max_bytes, self.timeout, self.error = app, max_bytes, timeout, error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"request body is larger than {self.max_bytes} bytes"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self.error(scope, 413, too_large, "payload_too_large")(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while more:
            try:
                message = await asyncio.wait_for(receive(), deadline - loop.time())
            except TimeoutError:
                # Connection: close, so the server drops the half-sent request with the connection.
                slow = f"request body not received within {self.timeout:g} s"
                response = self.error(scope, 408, slow, "request_timeout", headers={"Connection": "close"})
                await response(scope, receive, send)
                return
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self.error(scope, 413, too_large, "payload_too_large")(scope, receive, send)
                return
        body = b"".join(chunks)
        if body and scope["method"] in ("POST", "PUT", "PATCH") and _is_json(scope):
            try:
                check_json(body)
            except BadBody as e:
                await self.error(scope, 422, str(e), "validation_error", e.param)(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # then: http.disconnect, when the client goes

        await self.app(scope, replay, send)
