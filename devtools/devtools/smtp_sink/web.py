"""The mail viewer and the JSON API over one sink's state.

The pages are Jinja2 templates (templates/, autoescaped) and need no script at all; an email's HTML
body is shown in a sandboxed iframe, its own scripts and forms off.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from devtools.smtp_sink.messages import StoredMessage
from devtools.smtp_sink.state import SinkState

INDEX_LIMIT = 500  # rows on the page; the JSON API returns every email
SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
HTML_HEADERS = {
    # The page needs no script at all; an email's own scripts stay off in the iframe too.
    "Content-Security-Policy": "script-src 'none'; object-src 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def display_time(moment: datetime, now: datetime) -> str:
    """The time alone for today's emails, the date too for older ones."""
    if moment.date() == now.date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


def quoted_attribute(value: str) -> Markup:
    """`value` escaped for a double-quoted attribute with the standard library's entities
    (`&quot;`, `&#x27;`), as the srcdoc of the HTML body has always been written."""
    return Markup(html.escape(value, quote=True))  # noqa: S704 - escaped on this very line


TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.PackageLoader("devtools.smtp_sink", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
)
TEMPLATES.env.filters["display_time"] = display_time
TEMPLATES.env.filters["quoted_attribute"] = quoted_attribute


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code, headers=HTML_HEADERS)


def refresh_seconds(request: Request) -> int | None:
    """`?refresh=N`, when N is from 1 to 3600."""
    value = request.query_params.get("refresh", "")
    if value.isdigit() and 1 <= int(value) <= 3600:
        return int(value)
    return None


def index_page(request: Request, state: SinkState, smtp_address: str) -> HTMLResponse:
    messages = state.store.find()
    context = {
        "total": len(messages),
        "limit": INDEX_LIMIT,
        "messages": list(reversed(messages[-INDEX_LIMIT:])),
        "now": datetime.now(UTC),
        "smtp_address": smtp_address,
        "max_messages": state.store.max_messages,
        "refresh_seconds": refresh_seconds(request),
    }
    return render(request, "index.html", context)


def message_page(request: Request, message: StoredMessage) -> HTMLResponse:
    context = {
        "message": message,
        "subject": message.subject or "(no subject)",
        "content": message.content,
        "sandbox": SANDBOX,
    }
    return render(request, "message.html", context)


def not_found_page(request: Request, message_id: int) -> HTMLResponse:
    return render(request, "not_found.html", {"message_id": message_id}, status_code=404)


def error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


def create_app(state: SinkState, smtp_address: str = "") -> Starlette:
    """The web page and JSON API over one sink's state.

    Endpoints that parse emails are plain functions, which Starlette runs in its thread pool: the
    first read of thousands of emails must not stall the SMTP side on the event loop. Those that
    touch fault rules or counters stay on the loop, their only writer.
    """

    def index(request: Request) -> Response:
        return index_page(request, state, smtp_address)

    def show_message(request: Request) -> Response:
        message_id = request.path_params["message_id"]
        message = state.store.get(message_id)
        return message_page(request, message) if message else not_found_page(request, message_id)

    def show_raw(request: Request) -> Response:
        message = state.store.get(request.path_params["message_id"])
        if message is None:
            return PlainTextResponse("not found", status_code=404)
        return PlainTextResponse(
            message.raw.decode("utf-8", "replace"), headers={"Cache-Control": "no-store"}
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)  # no icon, and no 404 in the browser's console

    def list_messages(request: Request) -> Response:
        messages = state.store.find(to=request.query_params.get("to"))
        return JSONResponse([message.to_json() for message in messages])

    def get_message(request: Request) -> Response:
        message_id = request.path_params["message_id"]
        message = state.store.get(message_id)
        if message is None:
            return error(404, f"no message {message_id}")
        return JSONResponse(message.to_json(detail=True))

    async def delete_messages(request: Request) -> Response:
        return JSONResponse({"deleted": state.store.clear()})

    async def list_faults(request: Request) -> Response:
        return JSONResponse([rule.to_json() for rule in state.faults.active()])

    async def change_faults(request: Request) -> Response:
        try:
            payload = json.loads(await request.body() or b"null")
            rules = state.faults.parse(payload)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return error(400, str(exc))
        if request.method == "PUT":
            state.faults.replace(rules)
        else:
            state.faults.add(rules)
        created = [rule.to_json() for rule in rules]
        single = request.method == "POST" and not isinstance(payload, list)
        return JSONResponse(created[0] if single else created, status_code=201 if single else 200)

    async def delete_faults(request: Request) -> Response:
        return JSONResponse({"deleted": state.faults.clear()})

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats_json())

    return Starlette(
        routes=[
            Route("/", index),
            Route("/messages/{message_id:int}", show_message),
            Route("/messages/{message_id:int}/raw", show_raw),
            Route("/healthz", healthz),
            Route("/favicon.ico", favicon),
            Route("/api/messages", list_messages, methods=["GET"]),
            Route("/api/messages", delete_messages, methods=["DELETE"]),
            Route("/api/messages/{message_id:int}", get_message),
            Route("/api/faults", list_faults, methods=["GET"]),
            Route("/api/faults", change_faults, methods=["POST", "PUT"]),
            Route("/api/faults", delete_faults, methods=["DELETE"]),
            Route("/api/stats", stats),
        ]
    )
