"""ASGI guards in front of the app: request ids and access logs, security headers, body checks, backpressure.

They are plain ASGI middleware so that a rejected request costs no parsing and never reaches a handler.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("qa.access")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        b"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def send_json(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return None


class RequestContext:
    """Outermost: gives each request an id, adds security headers, logs id/status/latency, hides crashes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"] = [*headers, *SECURITY_HEADERS, (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            access_log.exception("request %s crashed", request_id)
            if not status["sent"]:
                await send_json(send_with_headers, 500, f"internal error; quote request id {request_id}")
        finally:
            access_log.info(
                "%s %s %s -> %d in %.1f ms",
                request_id,
                scope.get("method"),
                scope.get("path"),
                status["code"],
                1000 * (time.perf_counter() - started),
            )


class BodyGuard:
    """For requests with a body: JSON content type, size cap, read deadline, UTF-8 and parseable JSON.

    The checked body is replayed to the app unchanged.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        problem = self._check_headers(scope)
        if problem:
            await send_json(send, *problem)
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.read_timeout_s)
        except TimeoutError:
            await send_json(send, 408, f"the request body did not arrive within {self.read_timeout_s:g} s")
            return
        if body is None:
            await send_json(send, 413, f"request body is larger than {self.max_bytes} bytes")
            return
        bad_json = _json_problem(body)
        if bad_json:
            await send_json(send, 400, bad_json)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _check_headers(self, scope: Scope) -> tuple[int, str] | None:
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1").split(";")[0].strip().lower()
        if content_type != "application/json":
            return 415, f"send the body as JSON with content-type: application/json (got {content_type or 'none'!r})"
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                if int(length) > self.max_bytes:
                    return 413, f"request body is larger than {self.max_bytes} bytes"
            except ValueError:
                return 400, "content-length is not a number"
        return None

    async def _read(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _json_problem(body: bytes) -> str | None:
    """Why the body is not usable JSON, or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"request body is not valid UTF-8 (byte {exc.start})"
    try:
        json.loads(text)
    except RecursionError:
        return "request body is nested too deeply"
    except json.JSONDecodeError as exc:
        return f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    return None


class Backpressure:
    """Caps requests in flight on the given paths; past the cap, 503 with Retry-After at once."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...], max_in_flight: int, retry_after_s: int = 1) -> None:
        self.app = app
        self.paths = paths
        self.max_in_flight = max_in_flight
        self.retry_after = str(retry_after_s).encode()
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await send_json(send, 503, "the server is busy; retry shortly", [(b"retry-after", self.retry_after)])
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
