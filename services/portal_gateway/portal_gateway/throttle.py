"""Token guessing is throttled: a client whose invitation or reset links keep turning out unknown or
unusable gets 429 for a while, and nobody else notices.

The count is per client address as uvicorn gives it (the direct peer, or the address a proxy named
in FORWARDED_ALLOW_IPS reports), in a sliding window, in this process's memory (docs/decisions.md).
What counts is the answer, not the request: a token page that answers 404 (unknown) or 410 (used,
expired, superseded, revoked) is a failure; a usable link or a form error is not. A request is
counted as a failure while it runs, so a burst of parallel guesses cannot outrun the bound.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal_gateway.rendering import render

# Where a token is looked up, by method: the link pages and the forms that carry the token.
TOKEN_ROUTES: dict[str, re.Pattern[str]] = {
    "GET": re.compile(r"^/(?:invite|reset)/[^/]+$"),
    "HEAD": re.compile(r"^/(?:invite|reset)/[^/]+$"),
    "POST": re.compile(r"^/(?:invite/accept|invite/join|reset)$"),
}
# The answers that say "no such link" (404) or "this link cannot be used" (410).
FAILURE_STATUSES = frozenset({404, 410})


class FailureWindow:
    """At most `limit` failures per key in any `window` seconds.

    `begin` reserves a failure before the work starts (so concurrent requests count at once),
    `succeeded` gives the reservation back. Keys are forgotten once their failures are older than
    the window; at most `max_keys` are kept, the least recently failing dropped first.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again, or None if it may try now."""
        now = self.clock()
        failures = self._recent(key, now)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[-self.limit] + self.window - now))

    def begin(self, key: str) -> float | None:
        """Reserve one failure for `key`; None (nothing reserved) if `key` must wait."""
        if self.retry_after(key) is not None:
            return None
        at = self.clock()
        failures = self._failures.setdefault(key, deque())
        failures.append(at)
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)
        return at

    def succeeded(self, key: str, at: float) -> None:
        """The request reserved at `at` did not fail: it does not count."""
        failures = self._failures.get(key)
        if failures is None:
            return
        try:
            failures.remove(at)
        except ValueError:
            return
        if not failures:
            del self._failures[key]

    def __len__(self) -> int:
        return len(self._failures)


def client_address(scope: Scope) -> str:
    """The client as uvicorn saw it: X-Forwarded-For was already applied, if and only if the peer
    is a proxy named in FORWARDED_ALLOW_IPS."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class TokenGuessThrottle:
    """ASGI middleware: refuses token lookups with 429 while the client is over its bound."""

    def __init__(self, app: ASGIApp, window: FailureWindow) -> None:
        self.app = app
        self.window = window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = TOKEN_ROUTES.get(scope.get("method", "")) if scope["type"] == "http" else None
        if route is None or not route.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        key = client_address(scope)
        reserved = self.window.begin(key)
        if reserved is None:
            await self._too_many(scope, send, self.window.retry_after(key) or 1)
            return
        status = {"code": 500}

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            if status["code"] not in FAILURE_STATUSES:
                self.window.succeeded(key, reserved)

    async def _too_many(self, scope: Scope, send: Send, retry_after: int) -> None:
        minutes = math.ceil(retry_after / 60)
        response = render(
            Request(scope),
            "error.html",
            {
                "status": 429,
                "message": "Too many links that do not work were opened from your network. "
                f"Try again in {minutes} minute(s), and use the newest link in your email.",
            },
            status=429,
            headers={"Retry-After": str(retry_after), "Referrer-Policy": "no-referrer"},
        )
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
