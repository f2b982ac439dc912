"""The pages a portal user sees: accepting an invitation, signing in and out, resetting a password,
and the portal itself."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.deps import PORTAL_SESSION_COOKIE, Csrf, PortalUser, Rpc, Settings, session_cookie
from portal_gateway.rendering import render
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import utc_now
from shared.contracts.errors import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    PasswordRejected,
    RateLimited,
    TokenNotUsable,
)
from shared.contracts.validation import parse

router = APIRouter(include_in_schema=False)

# A page whose URL holds a secret must not hand it on in a Referer header.
TOKEN_PAGE = {"Referrer-Policy": "no-referrer"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,200}$")
FormText = Annotated[str, Form(max_length=1024)]


def _messages(exc: InvalidInput | PasswordRejected) -> list[str]:
    """A password's problems one by one; otherwise the error's own sentence."""
    errors = exc.details.get("errors") or []
    return [e for e in errors if isinstance(e, str)] or [exc.message]


def _signed_in(settings: Any, issued: i.SessionIssued, to: str = "/portal") -> Response:
    response = RedirectResponse(to, status_code=303)
    max_age = int((issued.expires_at - utc_now()).total_seconds())
    session_cookie(response, PORTAL_SESSION_COOKIE, issued.session_id, settings, max_age)
    return response


def _link_problem(request: Request, kind: str, status: str) -> Response:
    return render(
        request,
        "portal/link_problem.html",
        {"kind": kind, "status": status},
        status=404 if status == "unknown" else 410,
        headers=TOKEN_PAGE,
    )


@router.get("/")
async def root(user: PortalUser) -> Response:
    return RedirectResponse("/portal" if user else "/login", status_code=303)


# --- invitations ------------------------------------------------------------------------------


async def _invitation_form(
    request: Request, rpc: Any, token: str, errors: list[str], status: int = 200
) -> Response:
    if not _TOKEN.match(token):
        return _link_problem(request, "invitation", "unknown")
    landing = await rpc.call(i.OPEN_INVITATION, i.OpenInvitation(token=token))
    if landing.status != i.LinkStatus.USABLE:
        return _link_problem(request, "invitation", landing.status.value)
    template = "portal/join.html" if landing.account_exists else "portal/accept.html"
    return render(
        request, template, {"landing": landing, "token": token, "errors": errors}, status, TOKEN_PAGE
    )


@router.get("/invite/{token}")
async def invitation_page(request: Request, token: str, rpc: Rpc) -> Response:
    return await _invitation_form(request, rpc, token, [])


@router.post("/invite/accept", dependencies=[Csrf])
async def accept_invitation(
    request: Request,
    rpc: Rpc,
    settings: Settings,
    token: FormText,
    password: FormText = "",
    password_confirmation: FormText = "",
) -> Response:
    try:
        command = parse(
            i.AcceptInvitation,
            {"token": token, "password": password, "password_confirmation": password_confirmation},
        )
        issued = await rpc.call(i.ACCEPT_INVITATION, command)
    except TokenNotUsable as exc:
        return _link_problem(request, "invitation", exc.details.get("reason", "unknown"))
    except (InvalidInput, PasswordRejected) as exc:
        return await _invitation_form(request, rpc, token, _messages(exc), status=422)
    except Conflict:  # an account with this email appeared: the join form says what to do
        return await _invitation_form(request, rpc, token, [], status=409)
    return _signed_in(settings, issued)


@router.post("/invite/join", dependencies=[Csrf])
async def join_invitation(
    request: Request, rpc: Rpc, settings: Settings, token: FormText, password: FormText = ""
) -> Response:
    try:
        command = parse(i.AcceptInvitationAsAccount, {"token": token, "password": password})
        issued = await rpc.call(i.ACCEPT_INVITATION_AS_ACCOUNT, command)
    except TokenNotUsable as exc:
        return _link_problem(request, "invitation", exc.details.get("reason", "unknown"))
    except (InvalidCredentials, InvalidInput, RateLimited) as exc:
        status = 429 if isinstance(exc, RateLimited) else 401
        return await _invitation_form(request, rpc, token, [exc.message], status=status)
    return _signed_in(settings, issued)


# --- signing in and out -----------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, user: PortalUser) -> Response:
    if user is not None:
        return RedirectResponse("/portal", status_code=303)
    return render(request, "portal/login.html", {"errors": []})


@router.post("/login", dependencies=[Csrf])
async def login(
    request: Request, rpc: Rpc, settings: Settings, email: FormText = "", password: FormText = ""
) -> Response:
    try:
        issued = await rpc.call(i.LOGIN, parse(i.Login, {"email": email, "password": password}))
    except (InvalidCredentials, InvalidInput) as exc:
        message = exc.message if isinstance(exc, InvalidCredentials) else "Enter your email and password."
        return render(request, "portal/login.html", {"errors": [message], "email": email[:254]}, status=401)
    except RateLimited as exc:
        return render(
            request,
            "portal/login.html",
            {"errors": [exc.message], "email": email[:254]},
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    return _signed_in(settings, issued)


@router.post("/logout", dependencies=[Csrf])
async def logout(request: Request, rpc: Rpc) -> Response:
    session_id = request.cookies.get(PORTAL_SESSION_COOKIE, "")
    if _TOKEN.match(session_id):
        await rpc.call(i.LOGOUT, i.SessionRef(session_id=session_id))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(PORTAL_SESSION_COOKIE, path="/")
    return response


# --- password reset ---------------------------------------------------------------------------


@router.get("/forgot")
async def forgot_page(request: Request) -> Response:
    return render(request, "portal/forgot.html", {"errors": [], "sent": False})


@router.post("/forgot", dependencies=[Csrf])
async def forgot(request: Request, rpc: Rpc, email: FormText = "") -> Response:
    """The same answer, after the same work, whether or not the email has an account."""
    email = email.strip()
    if not email or len(email) > 254:
        return render(
            request, "portal/forgot.html", {"errors": ["Enter your email address."], "sent": False}, 422
        )
    await rpc.call(i.REQUEST_PASSWORD_RESET, i.RequestPasswordReset(email=email))
    return render(request, "portal/forgot.html", {"errors": [], "sent": True})


async def _reset_form(
    request: Request, rpc: Any, token: str, errors: list[str], status: int = 200
) -> Response:
    if not _TOKEN.match(token):
        return _link_problem(request, "reset", "unknown")
    landing = await rpc.call(i.OPEN_PASSWORD_RESET, i.OpenPasswordReset(token=token))
    if landing.status != i.LinkStatus.USABLE:
        return _link_problem(request, "reset", landing.status.value)
    return render(request, "portal/reset.html", {"token": token, "errors": errors}, status, TOKEN_PAGE)


@router.get("/reset/{token}")
async def reset_page(request: Request, token: str, rpc: Rpc) -> Response:
    return await _reset_form(request, rpc, token, [])


@router.post("/reset", dependencies=[Csrf])
async def reset_password(
    request: Request,
    rpc: Rpc,
    settings: Settings,
    token: FormText,
    password: FormText = "",
    password_confirmation: FormText = "",
) -> Response:
    try:
        command = parse(
            i.ResetPassword,
            {"token": token, "password": password, "password_confirmation": password_confirmation},
        )
        issued = await rpc.call(i.RESET_PASSWORD, command)
    except TokenNotUsable as exc:
        return _link_problem(request, "reset", exc.details.get("reason", "unknown"))
    except (InvalidInput, PasswordRejected) as exc:
        return await _reset_form(request, rpc, token, _messages(exc), status=422)
    return _signed_in(settings, issued)


# --- the portal -------------------------------------------------------------------------------


@router.get("/portal")
async def portal_home(request: Request, rpc: Rpc, user: PortalUser, m: UUID | None = None) -> Response:
    """What the person is linked to, for the membership they chose (the first by default)."""
    if user is None:
        return RedirectResponse("/login", status_code=303)
    membership = next((x for x in user.memberships if x.grant_id == m), None) or (
        user.memberships[0] if user.memberships else None
    )
    if membership is None:
        return render(request, "portal/home.html", {"user": user, "membership": None})
    org_ids = {x.organization_id for x in user.memberships}
    # The three services are asked at once: the page costs its slowest call, not their sum.
    contact, links, organizations = await asyncio.gather(
        rpc.call(
            c.GET_CONTACT,
            c.GetContact(organization_id=membership.organization_id, contact_id=membership.contact_id),
        ),
        rpc.call(
            p.GET_CONTACT_LINKS,
            p.GetContactLinks(organization_id=membership.organization_id, contact_id=membership.contact_id),
        ),
        asyncio.gather(
            *(rpc.call(c.GET_ORGANIZATION, c.GetOrganization(organization_id=org_id)) for org_id in org_ids)
        ),
    )
    names = {org.id: org.name for org in organizations}
    organization = next(org for org in organizations if org.id == membership.organization_id)
    return render(
        request,
        "portal/home.html",
        {
            "user": user,
            "membership": membership,
            "contact": contact,
            "links": links,
            "organization": organization,
            "names": names,
        },
    )
