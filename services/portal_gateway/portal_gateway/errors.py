"""How every error becomes an HTTP answer: the one table, and the handlers that use it.

API paths answer JSON `{"error": {"code", "message", "details"?}}`; pages answer an HTML page.
Nothing a client sent is echoed back (a password could be in it).

A refusal (4xx) is not logged here: the access line (`security.py`) already says the route and its
status, and the service logged one line naming the method and the code. A 5xx is one line naming
the route (never the path, which can hold a token) and the error; a service's traceback stays in
that service's log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal_gateway.rendering import render
from shared.contracts.errors import (
    Conflict,
    DuplicateContact,
    InvalidCredentials,
    InvalidInput,
    NotEligible,
    NotFound,
    PasswordRejected,
    PermissionDenied,
    RateLimited,
    RemoteFailure,
    ServiceError,
    ServiceTimeout,
    ServiceUnavailable,
    TokenNotUsable,
)
from shared.logs import redact

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[ServiceError], int] = {
    NotFound: 404,
    DuplicateContact: 409,
    Conflict: 409,
    NotEligible: 409,
    InvalidInput: 422,
    PasswordRejected: 422,
    PermissionDenied: 403,
    InvalidCredentials: 401,
    TokenNotUsable: 410,
    RateLimited: 429,
    ServiceUnavailable: 503,
    ServiceTimeout: 504,
}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="Stable, for programs: `not_found`, `invalid_input`, `rate_limited`, ...")
    message: str = Field(description="A sentence for a person.")
    details: dict[str, Any] | None = Field(
        default=None,
        description="More, by code: `errors` (each field and its problem), `reasons`, `retry_after`, ...",
    )


class ErrorBody(BaseModel):
    """Every error answer of the staff API."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


def _error(description: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"model": ErrorBody, "description": description}
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    return response


# What staff API operations may answer besides their success, for the OpenAPI document (the codes
# of the table above and of the handlers below), all with the same body: every operation...
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error(
        "`unauthenticated` or `invalid_credentials`: no valid API token.",
        {"WWW-Authenticate": "Bearer"},
    ),
    403: _error("`permission_denied`: your role or permissions do not allow this."),
    404: _error("`not_found`: no such object in your organization."),
    422: _error("`invalid_input`: `details.errors` names each field and its problem."),
    503: _error("`service_unavailable`: a service or the message broker cannot be reached."),
    504: _error("`service_timeout`: a service did not answer in time."),
}
# ...and every operation that changes something.
WRITE_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("`malformed_json`: the body is not JSON, or not UTF-8."),
    409: _error("`conflict`, `duplicate_contact` or `not_eligible` (with every reason in `details`)."),
    413: _error("`body_too_large`: the body is over the gateway's limit."),
    429: _error("`rate_limited`: wait `Retry-After` seconds.", {"Retry-After": "seconds to wait"}),
}


def status_for(exc: ServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/readyz")


def _answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)
    return render(
        request, "error.html", {"status": status, "message": message}, status=status, headers=headers
    )


def _route(request: Request) -> str:
    """`GET /invite/{token}`: the route's template, as the access line names it (security.py),
    not the path a secret can be part of."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', None) or redact(request.url.path)}"


async def on_service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    status = status_for(exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if status == 401 and wants_json(request):
        headers = {"WWW-Authenticate": "Bearer"}
    if status >= 500:
        log.warning("%s: %s", _route(request), exc)
    return _answer(request, status, exc.code, exc.message, exc.details, headers)


async def on_remote_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RemoteFailure)
    # The first line only: SQLAlchemy appends the statement and its parameters (an email, say).
    first_line = (exc.value.strip().splitlines() or [""])[0][:200]
    log.error("%s: a service failed: %s: %s", _route(request), exc.exc_type, first_line)
    return _answer(request, 500, "internal_error", "Something went wrong on our side. Please try again.")


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return _answer(request, 400, "malformed_json", "The request body is not valid JSON.")
    fields = [
        {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]} for error in errors
    ]
    return _answer(request, 422, "invalid_input", "The request is not valid.", {"errors": fields})


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    messages = {
        400: "The request body is not valid JSON (or not UTF-8).",
        401: "Sign in first.",
        404: "There is nothing here.",
        405: "This method is not allowed here.",
        413: "The request body is too large.",
        415: "Send the body as application/json.",
    }
    message = (
        exc.detail
        if isinstance(exc.detail, str) and exc.status_code not in messages
        else messages.get(exc.status_code, str(exc.detail))
    )
    if exc.status_code == 400 and not wants_json(request):  # FastAPI could not read a form
        message = "The form could not be read. Go back, reload the page and try again."
    code = {
        400: "malformed_json",
        401: "unauthenticated",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
    }.get(exc.status_code, "http_error")
    return _answer(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))


HANDLERS = {
    ServiceError: on_service_error,
    RemoteFailure: on_remote_failure,
    RequestValidationError: on_validation_error,
    StarletteHTTPException: on_http_error,
}

__all__ = [
    "API_ERROR_RESPONSES",
    "HANDLERS",
    "STATUS_BY_ERROR",
    "WRITE_ERROR_RESPONSES",
    "ErrorBody",
    "HTMLResponse",
    "error_body",
    "status_for",
]
