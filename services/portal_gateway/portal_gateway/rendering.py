"""Server-rendered HTML: Jinja2 templates with autoescaping, and the CSRF token every form carries."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# A fresh key for each form a page shows: sent twice (a double click, a retry after a timeout),
# the form does its work once (Idempotency-Key).
TEMPLATES.env.globals["request_key"] = lambda: secrets.token_hex(16)
CSRF_COOKIE = "portal_csrf"
CSRF_FIELD = "csrf_token"


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%-d %B %Y")
    return value.strftime("%-d %B %Y") if value else ""


def _datetime(value: datetime | None) -> str:
    return value.strftime("%-d %b %Y, %H:%M UTC") if value else ""


def money(minor: int) -> str:
    """An amount in pence as people read it: 125050 is £1,250.50, -500 is -£5.00. One currency
    (GBP) for now."""
    pounds, pence = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}£{pounds:,}.{pence:02d}"


TEMPLATES.env.filters["date"] = _date
TEMPLATES.env.filters["datetime"] = _datetime
TEMPLATES.env.filters["money"] = money


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the one in its cookie, or a new one that the response will set."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf_token = token
    return token  # type: ignore[no-any-return]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    context = dict(context or {})
    context.setdefault("csrf_token", csrf_token(request))
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status, headers=headers)
    if request.cookies.get(CSRF_COOKIE) != context["csrf_token"]:
        settings = request.app.state.settings
        response.set_cookie(
            CSRF_COOKIE,
            context["csrf_token"],
            httponly=True,
            secure=settings.cookie_secure,
            samesite="strict",
        )
    return response
