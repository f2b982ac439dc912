"""The Server-Timing header (SERVER_TIMING=true): each RPC a request made and how long it took,
as browsers' developer tools and bench/portal_page.py read it. Off by default: it names internal
services and their timings, which the public need not see."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.rpc_client import call_timings


class ServerTiming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timings: list[tuple[str, float]] = []
        token = call_timings.set(timings)

        async def send_with_timings(message: Message) -> None:
            if message["type"] == "http.response.start" and timings:
                value = ", ".join(f'rpc;desc="{name}";dur={seconds * 1000:.2f}' for name, seconds in timings)
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"server-timing", value.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_timings)
        finally:
            call_timings.reset(token)
