"""ASGI guards in front of the app: request ids and access logs, security headers, body checks, backpressure.

They are plain ASGI middleware so that a rejected request costs no parsing and never reaches a handler.
"""

from __future__ import annotations

import asyncio
import hmac
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


LOOPBACK = ("127.", "::1", "::ffff:127.")
UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the file itself


def is_loopback(scope: Scope) -> bool:
    client = scope.get("client") or ("", 0)
    return str(client[0]).startswith(LOOPBACK)


def write_access(scope: Scope, token: str | None) -> str:
    """What a client may do without credentials, as GET /documents tells it: write (open), write with the token
    (token), or not at all (closed: the rule WriteGuard enforces)."""
    if token:
        return "token"
    return "open" if is_loopback(scope) else "closed"


class WriteGuard:
    """Writes (POST, PUT, PATCH, DELETE on `paths`) need `Authorization: Bearer <token>` when a token is set (401
    otherwise, compared in constant time), else must come from this machine (403 otherwise). Reads stay open.
    Checked before a body is read, so a refused upload costs nothing."""

    WRITES = ("POST", "PUT", "PATCH", "DELETE")

    def __init__(self, app: ASGIApp, paths: tuple[str, ...], token: str | None) -> None:
        self.app = app
        self.paths = paths
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.WRITES and scope["path"].startswith(self.paths):
            refusal = self.refusal(scope)
            if refusal:
                await send_json(send, *refusal)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        if self.token is None:
            if is_loopback(scope):
                return None
            return 403, "documents can be changed from the server's own machine only; set QA_API_TOKEN to allow it", []
        scheme, _, given = (_header(scope, b"authorization") or b"").partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token):
            return None
        return 401, "send Authorization: Bearer <QA_API_TOKEN> to change documents", [(b"www-authenticate", b"Bearer")]


class BodyGuard:
    """For requests with a body: content type, size cap, read deadline, UTF-8 and parseable JSON.

    Bodies are JSON of at most `max_bytes`, except on `upload_paths`, which also take multipart/form-data and
    up to `max_upload_bytes` within `upload_timeout_s`. The checked body is replayed to the app unchanged.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        read_timeout_s: float,
        upload_paths: tuple[str, ...] = (),
        max_upload_mb: float = 0.0,
        upload_timeout_s: float = 120.0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s
        self.upload_paths = upload_paths
        self.max_upload_mb = max_upload_mb
        self.max_upload_bytes = int(max_upload_mb * (1 << 20)) + UPLOAD_OVERHEAD
        self.upload_timeout_s = upload_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        upload = scope["path"] in self.upload_paths
        limit = self.max_upload_bytes if upload else self.max_bytes
        timeout = self.upload_timeout_s if upload else self.read_timeout_s
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1").split(";")[0].strip().lower()
        problem = self._check_headers(scope, content_type, upload, limit)
        if problem:
            await send_json(send, *problem)
            return
        try:
            body = await asyncio.wait_for(self._read(receive, limit), timeout)
        except TimeoutError:
            await send_json(send, 408, f"the request body did not arrive within {timeout:g} s")
            return
        if body is None:
            await send_json(send, 413, self._too_large(upload))
            return
        bad_json = _json_problem(body) if content_type == "application/json" else None
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

    def _check_headers(self, scope: Scope, content_type: str, upload: bool, limit: int) -> tuple[int, str] | None:
        if upload and content_type not in ("application/json", "multipart/form-data"):
            return 415, (
                "send a file as multipart/form-data in the field `file`, or JSON {name, text} with "
                f"content-type: application/json (got {content_type or 'none'!r})"
            )
        if not upload and content_type != "application/json":
            return 415, f"send the body as JSON with content-type: application/json (got {content_type or 'none'!r})"
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                if int(length) > limit:
                    return 413, self._too_large(upload)
            except ValueError:
                return 400, "content-length is not a number"
        return None

    def _too_large(self, upload: bool) -> str:
        if upload:
            return f"the upload is larger than {self.max_upload_mb:g} MB (QA_MAX_UPLOAD_MB)"
        return f"request body is larger than {self.max_bytes} bytes"

    async def _read(self, receive: Receive, limit: int) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
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
