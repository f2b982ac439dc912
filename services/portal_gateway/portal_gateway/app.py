"""The gateway application: the staff API under /api/v1 (OpenAPI at /docs), the portal pages, the
staff console, /healthz and /readyz. It owns nothing: every answer comes from the services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from portal_gateway import errors
from portal_gateway.api import (
    bulk,
    client_groups,
    contacts,
    defects,
    documents,
    maintenance,
    portal_access,
    progress,
    properties,
    staff,
    viewings,
)
from portal_gateway.deps import CsrfFailed, Rpc, Settings, ViewAsReadOnly
from portal_gateway.downloads import UPLOAD_FORM_OVERHEAD_BYTES
from portal_gateway.pages import (
    client_property,
    console,
    console_bulk,
    console_contact,
    console_groups,
    console_maintenance,
    customer,
    portal,
    portal_documents,
    tenancy,
)
from portal_gateway.rendering import render
from portal_gateway.security import AccessLog, BodyGuard, SecurityHeaders
from portal_gateway.settings import GatewaySettings
from portal_gateway.throttle import FailureWindow, TokenGuessThrottle
from portal_gateway.timing import ServerTiming
from shared.contracts.common import Request as EmptyRequest
from shared.contracts.errors import ServiceError
from shared.health import health_method
from shared.rpc_client import RpcClient
from shared.topology import SERVICES

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings | None = None, rpc: RpcClient | None = None) -> FastAPI:
    """The app. `rpc` is started with the app unless given (tests pass their own)."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if rpc is None:
            client = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout_seconds, name="gateway")
            await client.start()
            app.state.rpc = client
            try:
                yield
            finally:
                await client.close()
        else:
            app.state.rpc = rpc
            yield

    app = FastAPI(
        title="Portal access platform",
        version="0.1.0",
        summary="Staff API: contacts, properties and leases, what tenants owe, maintenance requests, "
        "viewings and offers, who sees viewing feedback, portal invitations and access.",
        lifespan=lifespan,
        # Starlette would redirect /login/ to an absolute URL built from the Host header.
        redirect_slashes=False,
    )
    app.state.settings = settings
    for exc_class, handler in errors.HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
    app.add_exception_handler(CsrfFailed, on_csrf_failed)
    app.add_exception_handler(ViewAsReadOnly, on_view_as_write)

    api = APIRouter(prefix="/api/v1", responses=errors.API_ERROR_RESPONSES)
    for module in (staff, contacts, properties, viewings, maintenance, portal_access, bulk):
        api.include_router(module.router)
    api.include_router(documents.router)
    api.include_router(client_groups.router)
    api.include_router(progress.router)
    api.include_router(defects.router)
    app.include_router(api)
    app.include_router(health)
    app.include_router(portal.router)
    app.include_router(tenancy.router)
    app.include_router(client_property.router)
    app.include_router(portal_documents.router)
    app.include_router(customer.router)
    app.include_router(console.router)
    app.include_router(console_groups.router)
    app.include_router(console_contact.router)
    app.include_router(console_bulk.router)
    app.include_router(console_maintenance.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    # Each middleware wraps those added before it: the log sees every answer (429s included), the
    # body guard runs before anything reads a body, the token throttle before any token is looked up.
    app.add_middleware(
        TokenGuessThrottle,
        window=FailureWindow(settings.token_guess_limit, settings.token_guess_window_seconds),
    )
    app.add_middleware(
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        larger={
            bulk.PATH: max(bulk.MAX_BODY_BYTES, settings.max_body_bytes),
            # Uploads: a file up to the document limit, with the rest of its form.
            **dict.fromkeys(
                (documents.UPLOAD_PATH, tenancy.MAINTENANCE_FORM_PATH),
                max(settings.max_document_bytes + UPLOAD_FORM_OVERHEAD_BYTES, settings.max_body_bytes),
            ),
        },
    )
    app.add_middleware(SecurityHeaders)
    if settings.server_timing:
        app.add_middleware(ServerTiming)
    app.add_middleware(AccessLog)
    return app


async def on_csrf_failed(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        {"status": 403, "message": "This form has expired. Go back, reload the page and try again."},
        status=403,
    )


async def on_view_as_write(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        {
            "status": 403,
            "title": "Read-only while viewing as someone",
            "message": "You are viewing the portal as someone else (View As), which is read-only: "
            "nothing was sent or changed. End View As to return to the console.",
            "end_view_as": True,
        },
        status=403,
    )


health = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@health.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    """The gateway process is up."""
    return {"status": "ok"}


@health.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: `checks` says what is not ok."}},
)
async def readyz(rpc: Rpc, settings: Settings) -> JSONResponse:
    """The broker is reachable and every service answers (with its database) in time."""

    async def check(service: str) -> tuple[str, str]:
        try:
            await rpc.call(health_method(service), EmptyRequest(), timeout=settings.readiness_timeout_seconds)
        except ServiceError as exc:
            return service, exc.message
        except Exception as exc:  # a service that answers with an error is not ready either
            return service, type(exc).__name__
        return service, "ok"

    checks: dict[str, Any] = {"broker": "ok" if rpc.connected else "not connected"}
    checks.update(dict(await asyncio.gather(*(check(service) for service in SERVICES))))
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )
