"""FastAPI dependencies: the RPC client, who is asking (staff by API token or console session, a
portal user by session), and the CSRF check of form posts. Tests swap them with
`app.dependency_overrides`."""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any

from fastapi import Depends, Form, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from portal_gateway.rendering import CSRF_COOKIE, CSRF_FIELD
from portal_gateway.settings import GatewaySettings
from portal_gateway.throttle import client_address
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts.common import IdempotencyKey, StaffActor, StaffRole
from shared.contracts.errors import InvalidCredentials, PermissionDenied
from shared.rpc_client import RpcClient

PORTAL_SESSION_COOKIE = "portal_session"
STAFF_SESSION_COOKIE = "staff_session"
# A staff member's View As session: apart from their own portal session, which it never touches.
VIEW_AS_COOKIE = "view_as_session"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,200}$")


# async although they never wait: FastAPI runs a plain `def` dependency in its thread pool, a
# thread hop on every request for an attribute read (bench/portal_page.py, docs/performance.md).
async def get_rpc(request: Request) -> RpcClient:
    return request.app.state.rpc  # type: ignore[no-any-return]


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_client(request: Request) -> str:
    """Who the services' credential throttle counts an attempt against: the address uvicorn gives
    (X-Forwarded-For applied only from FORWARDED_ALLOW_IPS), cut to what the contract takes."""
    return client_address(request.scope).strip()[:100] or "unknown"


Rpc = Annotated[RpcClient, Depends(get_rpc)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
Client = Annotated[str, Depends(get_client)]


# --- staff ------------------------------------------------------------------------------------


# Declared as the API's security scheme in the OpenAPI document; checked below, not by FastAPI.
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`.")


async def staff_by_api_token(
    rpc: Rpc, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> c.StaffPrincipal:
    token = credentials.credentials.strip() if credentials is not None else ""
    if not _SECRET.match(token):
        raise HTTPException(
            401, "Send an API token: Authorization: Bearer <token>.", headers={"WWW-Authenticate": "Bearer"}
        )
    return await rpc.call(c.AUTHENTICATE_API_TOKEN, c.AuthenticateApiToken(token=token))


Staff = Annotated[c.StaffPrincipal, Depends(staff_by_api_token)]

IdempotencyKeyHeader = Annotated[
    IdempotencyKey | None,
    Header(
        alias="Idempotency-Key",
        description="Your name for this request (8-100 of A-Z a-z 0-9 . _ : -, e.g. a UUID): the same "
        "key again answers what the first request did.",
    ),
]


def actor(staff: c.StaffPrincipal) -> StaffActor:
    member = staff.staff_member
    return StaffActor(organization_id=staff.organization.id, staff_member_id=member.id, role=member.role)


def require_editor(staff: c.StaffPrincipal) -> StaffActor:
    """Staff who may change data: every role but viewer."""
    if staff.staff_member.role == StaffRole.VIEWER:
        raise PermissionDenied("Your role can read but not change anything.")
    return actor(staff)


def require_portal_manager(staff: c.StaffPrincipal) -> StaffActor:
    """Staff who may invite, resend and revoke: editors with the portal-access permission (the
    invitations service checks it again)."""
    editor = require_editor(staff)
    i.refuse_unless_may_manage_portal_access(staff.staff_member)
    return editor


async def console_staff(request: Request, rpc: Rpc) -> c.StaffPrincipal | None:
    session_id = request.cookies.get(STAFF_SESSION_COOKIE, "")
    if not _SECRET.match(session_id):
        return None
    try:
        return await rpc.call(c.AUTHENTICATE_STAFF_SESSION, c.AuthenticateStaffSession(session_id=session_id))
    except InvalidCredentials:
        return None


ConsoleStaff = Annotated[c.StaffPrincipal | None, Depends(console_staff)]


# --- portal users -----------------------------------------------------------------------------


async def view_as_session(request: Request, rpc: Rpc) -> i.PortalSession | None:
    """The portal as the contact a staff member is viewing it as, while that View As lasts."""
    session_id = request.cookies.get(VIEW_AS_COOKIE, "")
    if not _SECRET.match(session_id):
        return None
    try:
        return await rpc.call(i.CHECK_VIEW_AS, i.SessionRef(session_id=session_id))
    except InvalidCredentials:
        return None


async def portal_session(request: Request, rpc: Rpc) -> i.PortalSession | None:
    """Who the portal pages are for: a live View As first (staff seeing it as a contact), else the
    person signed in."""
    viewing = await view_as_session(request, rpc)
    if viewing is not None:
        return viewing
    session_id = request.cookies.get(PORTAL_SESSION_COOKIE, "")
    if not _SECRET.match(session_id):
        return None
    try:
        return await rpc.call(i.CHECK_SESSION, i.SessionRef(session_id=session_id))
    except InvalidCredentials:
        return None


PortalUser = Annotated[i.PortalSession | None, Depends(portal_session)]


class ViewAsReadOnly(Exception):
    """A portal write while viewing the portal as someone else."""


async def refuse_writes_while_viewing_as(request: Request, rpc: Rpc) -> None:
    """View As is read-only: while it lasts, every portal form post is refused, whatever other
    session the browser also holds."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and await view_as_session(request, rpc) is not None:
        raise ViewAsReadOnly()


ReadOnlyWhileViewingAs = Depends(refuse_writes_while_viewing_as)


# --- form posts -------------------------------------------------------------------------------


class CsrfFailed(Exception):
    pass


async def check_csrf(request: Request, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> None:
    """Double-submit check: the form's token must equal the token in the SameSite=Strict cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not csrf_token or not hmac.compare_digest(cookie, csrf_token):
        raise CsrfFailed()


Csrf = Depends(check_csrf)


def session_cookie(response: Any, name: str, value: str, settings: GatewaySettings, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=settings.cookie_secure, samesite="lax", path="/"
    )
