"""A small synchronous client for the SMTP sink's JSON API, for tests of every level.

Only the standard library (urllib), so an eventlet service test, a pytest-asyncio test and a browser
test can all use it without pulling in the sink's server dependencies:

    client = SinkClient("http://127.0.0.1:8025")
    [invitation] = client.wait_for("tenant@example.com")
    link = invitation["links"][0]
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["SinkClient", "SinkError"]


class SinkError(RuntimeError):
    """The sink answered with an error status (the message says which request and why)."""


class SinkClient:
    """Reads and controls a running SMTP sink over HTTP."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base_url must be an http(s) URL such as http://127.0.0.1:8025, not {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """Every message kept, oldest first; with `to`, only those with that envelope recipient."""
        query = f"?{urllib.parse.urlencode({'to': to})}" if to is not None else ""
        return self._request("GET", f"/api/messages{query}")

    def message(self, message_id: int) -> dict[str, Any]:
        """One message with its headers and raw source."""
        return self._request("GET", f"/api/messages/{int(message_id)}")

    def wait_for(self, to: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The messages to `to` once at least `count` of them have arrived, oldest first.

        Polls every 0.1 s; fails the test with an AssertionError that says what did arrive.
        """
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        last_error: Exception | None = None
        while True:
            try:
                found = self.messages(to=to)
                last_error = None
            except (OSError, SinkError) as exc:  # the sink may still be starting
                last_error = exc
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        raise AssertionError(self._timeout_message(to, count, timeout, found, last_error))

    def clear(self) -> int:
        """Forget every message; returns how many were deleted."""
        return int(self._request("DELETE", "/api/messages")["deleted"])

    def set_faults(self, *rules: dict[str, Any], **rule: Any) -> list[dict[str, Any]]:
        """Replace the active fault rules with these (dicts, or one rule as keyword arguments).

        `client.set_faults(reply="451 4.3.0 Try again later", count=2)` or
        `client.set_faults({"reply": "550 5.1.1 No such user", "match": "bounce"}, {"delay_ms": 50})`.
        A slow server, answering every command after 4 s: `client.set_faults(command_delay_ms=4000)`.
        """
        all_rules = [*rules, rule] if rule else list(rules)
        return self._request("PUT", "/api/faults", all_rules)

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add one fault rule next to the active ones."""
        return self._request("POST", "/api/faults", rule)

    def faults(self) -> list[dict[str, Any]]:
        """The active fault rules, with what remains of their counts."""
        return self._request("GET", "/api/faults")

    def clear_faults(self) -> None:
        self._request("DELETE", "/api/faults")

    def stats(self) -> dict[str, int]:
        """Counters since the sink started: accepted, rejected, dropped, evicted."""
        return self._request("GET", "/api/stats")

    def healthy(self) -> bool:
        try:
            return self._request("GET", "/healthz").get("status") == "ok"
        except (OSError, SinkError):
            return False

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.base_url + path,
            data=data,
            method=method,
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - as above
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise SinkError(f"{method} {path} -> {exc.code}: {detail}") from None

    def _timeout_message(
        self,
        to: str,
        count: int,
        timeout: float,
        found: list[dict[str, Any]],
        last_error: Exception | None,
    ) -> str:
        message = (
            f"timed out after {timeout:g} s waiting for {count} email(s) to {to!r} "
            f"at {self.base_url}: {len(found)} arrived"
        )
        if last_error is not None:
            return f"{message}; the sink did not answer: {last_error}"
        try:
            everything = self.messages()
        except (OSError, SinkError):
            return message
        recipients = sorted({address for item in everything for address in item["rcpt_tos"]})
        shown = ", ".join(recipients[:20]) + (", ..." if len(recipients) > 20 else "")
        return f"{message}; the sink holds {len(everything)} email(s), to: {shown or 'nobody'}"
