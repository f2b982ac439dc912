"""The pages a portal user sees: accepting an invitation, signing in and out, resetting a password,
and the portal itself."""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.deps import (
    PORTAL_SESSION_COOKIE,
    VIEW_AS_COOKIE,
    Client,
    Csrf,
    PortalUser,
    ReadOnlyWhileViewingAs,
    Rpc,
    Settings,
    portal_session,
    session_cookie,
)
from portal_gateway.rendering import render
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    PasswordRejected,
    RateLimited,
    TokenNotUsable,
)
from shared.contracts.validation import parse
from shared.tokens import digest

# While a staff member views the portal as someone (View As), every form post here is refused.
router = APIRouter(include_in_schema=False, dependencies=[ReadOnlyWhileViewingAs])

# A page whose URL holds a secret must not hand it on in a Referer header.
TOKEN_PAGE = {"Referrer-Policy": "no-referrer"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,200}$")
FormText = Annotated[str, Form(max_length=1024)]


def _too_many(exc: RateLimited) -> dict[str, str]:
    """The header of every 429: how long to wait, in seconds."""
    return {"Retry-After": str(exc.retry_after)}


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
    client: Client,
    token: FormText,
    password: FormText = "",
    password_confirmation: FormText = "",
) -> Response:
    try:
        command = parse(
            i.AcceptInvitation,
            {
                "token": token,
                "password": password,
                "password_confirmation": password_confirmation,
                "client": client,
            },
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
    request: Request, rpc: Rpc, settings: Settings, client: Client, token: FormText, password: FormText = ""
) -> Response:
    try:
        command = parse(i.AcceptInvitationAsAccount, {"token": token, "password": password, "client": client})
        issued = await rpc.call(i.ACCEPT_INVITATION_AS_ACCOUNT, command)
    except TokenNotUsable as exc:
        return _link_problem(request, "invitation", exc.details.get("reason", "unknown"))
    except (InvalidCredentials, InvalidInput) as exc:
        return await _invitation_form(request, rpc, token, [exc.message], status=401)
    # RateLimited is the error page's (429 with Retry-After, errors.py), as on /invite/accept and
    # /reset: the form would look the token up again for a client that is made to wait.
    return _signed_in(settings, issued)


# --- signing in and out -----------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, user: PortalUser) -> Response:
    if user is not None:
        return RedirectResponse("/portal", status_code=303)
    return render(request, "portal/login.html", {"errors": []})


@router.post("/login", dependencies=[Csrf])
async def login(
    request: Request,
    rpc: Rpc,
    settings: Settings,
    client: Client,
    email: FormText = "",
    password: FormText = "",
) -> Response:
    try:
        command = parse(i.Login, {"email": email, "password": password, "client": client})
        issued = await rpc.call(i.LOGIN, command)
    except (InvalidCredentials, InvalidInput) as exc:
        message = exc.message if isinstance(exc, InvalidCredentials) else "Enter your email and password."
        return render(request, "portal/login.html", {"errors": [message], "email": email[:254]}, status=401)
    except RateLimited as exc:
        return render(
            request,
            "portal/login.html",
            {"errors": [exc.message], "email": email[:254]},
            status=429,
            headers=_too_many(exc),
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
async def forgot(request: Request, rpc: Rpc, client: Client, email: FormText = "") -> Response:
    """The same answer, after the same work, whether or not the email has an account."""
    email = email.strip()
    if not email or len(email) > 254:
        return render(
            request, "portal/forgot.html", {"errors": ["Enter your email address."], "sent": False}, 422
        )
    try:
        await rpc.call(i.REQUEST_PASSWORD_RESET, i.RequestPasswordReset(email=email, client=client))
    except RateLimited as exc:
        return render(
            request, "portal/forgot.html", {"errors": [exc.message], "sent": False}, 429, _too_many(exc)
        )
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
    client: Client,
    token: FormText,
    password: FormText = "",
    password_confirmation: FormText = "",
) -> Response:
    try:
        command = parse(
            i.ResetPassword,
            {
                "token": token,
                "password": password,
                "password_confirmation": password_confirmation,
                "client": client,
            },
        )
        issued = await rpc.call(i.RESET_PASSWORD, command)
    except TokenNotUsable as exc:
        return _link_problem(request, "reset", exc.details.get("reason", "unknown"))
    except (InvalidInput, PasswordRejected) as exc:
        return await _reset_form(request, rpc, token, _messages(exc), status=422)
    return _signed_in(settings, issued)


# --- the portal -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PageKeys:
    """What the portal page reads for one membership: the only input of its three service calls."""

    grant_id: UUID
    organization_id: UUID
    contact_id: UUID
    organization_ids: frozenset[UUID]


class _LastViews:
    """The page each recent session last saw (by the session id's digest, at most `size` of them),
    so its next visit can ask the services for it while the session itself is being checked."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._views: OrderedDict[str, _PageKeys] = OrderedDict()

    def get(self, key: str) -> _PageKeys | None:
        return self._views.get(key)

    def remember(self, key: str, keys: _PageKeys) -> None:
        self._views[key] = keys
        self._views.move_to_end(key)
        while len(self._views) > self.size:
            self._views.popitem(last=False)

    def forget(self, key: str) -> None:
        self._views.pop(key, None)


_last_views = _LastViews()


class _Organizations:
    """Organizations asked for lately, kept `ttl` seconds: the page shows only their names, which
    rarely change, and asking contacts for them on every view was a quarter of the page's work."""

    def __init__(self, ttl: float = 30.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._kept: OrderedDict[UUID, tuple[float, c.OrganizationView]] = OrderedDict()

    def get(self, organization_id: UUID) -> c.OrganizationView | None:
        kept = self._kept.get(organization_id)
        return kept[1] if kept is not None and time.monotonic() - kept[0] < self.ttl else None

    def keep(self, organization: c.OrganizationView) -> None:
        self._kept[organization.id] = (time.monotonic(), organization)
        self._kept.move_to_end(organization.id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)


_organizations = _Organizations()


async def _organizations_of(rpc: Any, organization_ids: frozenset[UUID]) -> list[c.OrganizationView]:
    kept = {org_id: _organizations.get(org_id) for org_id in organization_ids}
    missing = sorted(org_id for org_id, org in kept.items() if org is None)
    asked = await asyncio.gather(
        *(rpc.call(c.GET_ORGANIZATION, c.GetOrganization(organization_id=org_id)) for org_id in missing)
    )
    for org in asked:
        _organizations.keep(org)
    return [org for org in kept.values() if org is not None] + list(asked)


async def organization_of(rpc: Any, organization_id: UUID) -> c.OrganizationView:
    """One organization, from the names kept a while (as the portal home reads them)."""
    [organization] = await _organizations_of(rpc, frozenset({organization_id}))
    return organization


def chosen_membership(user: i.PortalSession, m: UUID | None) -> i.Membership | None:
    """The membership a portal page is about: the one `m` names if it is the user's own, else
    their first. Never anyone else's: the services check the contact it names on every read."""
    return next((x for x in user.memberships if x.grant_id == m), None) or (
        user.memberships[0] if user.memberships else None
    )


async def _page_data(rpc: Any, keys: _PageKeys) -> tuple[Any, Any, list[Any]]:
    # The services are asked at once: the page costs its slowest call, not their sum.
    contact, links, organizations = await asyncio.gather(
        rpc.call(
            c.GET_CONTACT, c.GetContact(organization_id=keys.organization_id, contact_id=keys.contact_id)
        ),
        rpc.call(
            p.GET_CONTACT_LINKS,
            p.GetContactLinks(organization_id=keys.organization_id, contact_id=keys.contact_id),
        ),
        _organizations_of(rpc, keys.organization_ids),
    )
    return contact, links, organizations


def _discard(task: asyncio.Future[Any] | None) -> None:
    """Drop a read nobody will use (and its error, if it failed)."""
    if task is not None:
        task.cancel()
        task.add_done_callback(lambda done: done.cancelled() or done.exception())


@router.get("/portal")
async def portal_home(request: Request, rpc: Rpc, m: UUID | None = None) -> Response:
    """What the person is linked to, for the membership they chose (the first by default).

    The page needs the session check (invitations) before it knows whom to ask contacts and
    properties about. On a session's first visit that is one call after the other; afterwards the
    three services are asked about what this session saw last while the session is checked, and
    their answers are used only if the check confirms that very membership (otherwise they are
    dropped and the services asked again): nothing is shown before the session is confirmed.
    """
    session_id = request.cookies.get(PORTAL_SESSION_COOKIE, "")
    key = digest(session_id) if _TOKEN.match(session_id) else None
    if VIEW_AS_COOKIE in request.cookies:
        key = None  # a View As shows another contact than the one this session saw last
    guess = _last_views.get(key) if key is not None else None
    if guess is not None and m is not None and guess.grant_id != m:
        guess = None
    early = asyncio.ensure_future(_page_data(rpc, guess)) if guess is not None else None
    try:
        user = await portal_session(request, rpc)
    except BaseException:
        _discard(early)
        raise
    if user is None:
        _discard(early)
        if key is not None:
            _last_views.forget(key)
        return RedirectResponse("/login", status_code=303)
    membership = chosen_membership(user, m)
    if membership is None:
        _discard(early)
        return render(request, "portal/home.html", {"user": user, "membership": None})
    if membership.contact_type == ContactType.CUSTOMER:
        _discard(early)  # a customer's home is their portfolio's dashboard (pages/customer.py)
        return RedirectResponse(f"/portal/customer?m={membership.grant_id}", status_code=303)
    keys = _PageKeys(
        membership.grant_id,
        membership.organization_id,
        membership.contact_id,
        frozenset(x.organization_id for x in user.memberships),
    )
    if early is not None and keys == guess:
        contact, links, organizations = await early
    else:
        _discard(early)
        contact, links, organizations = await _page_data(rpc, keys)
    if key is not None:
        _last_views.remember(key, keys)
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
            "section": "home",
        },
    )
