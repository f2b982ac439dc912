"""FastAPI dependencies: the RPC client, who is asking (staff by API token or console session, a
portal user by session), and the CSRF check of form posts. Tests swap them with
`app.dependency_overrides`."""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any

from fastapi import Depends, Form, Header, HTTPException, Request

from portal_gateway.rendering import CSRF_COOKIE, CSRF_FIELD
from portal_gateway.settings import GatewaySettings
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts.common import StaffActor, StaffRole
from shared.contracts.errors import InvalidCredentials, PermissionDenied
from shared.rpc_client import RpcClient

PORTAL_SESSION_COOKIE = "portal_session"
STAFF_SESSION_COOKIE = "staff_session"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,200}$")


def get_rpc(request: Request) -> RpcClient:
    return request.app.state.rpc  # type: ignore[no-any-return]


def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings  # type: ignore[no-any-return]


Rpc = Annotated[RpcClient, Depends(get_rpc)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]


# --- staff ------------------------------------------------------------------------------------


async def staff_by_api_token(
    rpc: Rpc, authorization: Annotated[str | None, Header()] = None
) -> c.StaffPrincipal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not _SECRET.match(token.strip()):
        raise HTTPException(
            401, "Send an API token: Authorization: Bearer <token>.", headers={"WWW-Authenticate": "Bearer"}
        )
    return await rpc.call(c.AUTHENTICATE_API_TOKEN, c.AuthenticateApiToken(token=token.strip()))


Staff = Annotated[c.StaffPrincipal, Depends(staff_by_api_token)]


def actor(staff: c.StaffPrincipal) -> StaffActor:
    return StaffActor(organization_id=staff.organization.id, staff_member_id=staff.staff_member.id)


def require_editor(staff: c.StaffPrincipal) -> StaffActor:
    """Staff who may change data: every role but viewer."""
    if staff.staff_member.role == StaffRole.VIEWER:
        raise PermissionDenied("Your role can read but not change anything.")
    return actor(staff)


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


async def portal_session(request: Request, rpc: Rpc) -> i.PortalSession | None:
    session_id = request.cookies.get(PORTAL_SESSION_COOKIE, "")
    if not _SECRET.match(session_id):
        return None
    try:
        return await rpc.call(i.CHECK_SESSION, i.SessionRef(session_id=session_id))
    except InvalidCredentials:
        return None


PortalUser = Annotated[i.PortalSession | None, Depends(portal_session)]


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
