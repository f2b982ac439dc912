"""Middleware every request passes: a guard on bodies (size, encoding, NUL), security headers, and
an access log that names the route, never the path a token is in."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import redact

log = logging.getLogger("portal_gateway.access")

Headers = list[tuple[bytes, bytes]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


# Bodies whose bytes must be UTF-8 (RFC 8259 for JSON; the portal's forms are sent as UTF-8).
JSON_BODY, FORM_BODY = "json", "form"
# NUL as JSON writes it: \u0000 after an even number (zero included) of other backslashes.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _text_body_kind(headers: Headers) -> str | None:
    content_type = dict(headers).get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type == b"application/json" or content_type.endswith(b"+json"):
        return JSON_BODY
    if content_type == b"application/x-www-form-urlencoded":
        return FORM_BODY
    return None


def _carries_nul(data: bytes, kind: str) -> bool:
    """NUL in text: PostgreSQL cannot store it, no person types it, so no service is asked."""
    if b"\x00" in data:
        return True
    return bool(_JSON_NUL.search(data)) if kind == JSON_BODY else b"%00" in data


class BodyGuard:
    """What no handler should ever see, refused before it runs: a body over `max_bytes` (413),
    whether the client declared its length or streamed it in chunks; a JSON or form body that is
    not UTF-8 (400; Python's JSON parser would also take UTF-16 and UTF-32); NUL in the query
    string or in a JSON or form body (422). `larger` raises the limit for the paths named, whose
    bodies are lists by design (a bulk invitation's contact ids)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _carries_nul(scope.get("query_string", b""), FORM_BODY):
            await self._no_nul(send, "query")
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(send, limit)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await self._too_large(send, limit)
                return
            if not message.get("more_body"):
                break
        kind = _text_body_kind(scope["headers"])
        if body and kind is not None:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                await self._refuse(send, 400, "malformed_json", "The request body is not UTF-8.")
                return
            if _carries_nul(bytes(body), kind):
                await self._no_nul(send, "body")
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, limit: int) -> None:
        message = f"The request body is over {limit} bytes."
        await self._refuse(send, 413, "body_too_large", message, close=True)

    async def _no_nul(self, send: Send, where: str) -> None:
        problem = "must not contain NUL characters"
        details = {"errors": [{"field": where, "message": problem}]}
        await self._refuse(send, 422, "invalid_input", f"The request's text {problem}.", details)

    async def _refuse(
        self,
        send: Send,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        close: bool = False,
    ) -> None:
        error: dict[str, Any] = {"code": code, "message": message}
        if details:
            error["details"] = details
        headers = [(b"content-type", b"application/json")]
        if close:  # the rest of an oversized body is not read
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps({"error": error}).encode()})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: Headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"cache-control", b"no-store"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """One line per request: method, route template (`/invite/{token}`, never the token), status
    and duration. Replaces uvicorn's access log, which prints the raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or redact(scope["path"])
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                path,
                status["code"],
                (time.perf_counter() - started) * 1000,
            )
