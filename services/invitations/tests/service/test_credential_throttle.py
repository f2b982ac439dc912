"""The credential throttle on the portal's forms (shared/shared/throttle.py): sign-in counted per
(email, client) and per client; forgot password, reset, accept and join per client; drained rows
and answered forgot-password requests pruned. Through the invitations service's entrypoints, on
the real PostgreSQL and RabbitMQ."""

import uuid
from datetime import timedelta

import eventlet
import pytest
from sqlalchemy import text

from invitations.models import credential_throttle
from invitations.service import InvitationsService
from shared.contracts import invitations as i
from shared.contracts.common import utc_now
from shared.contracts.errors import InvalidCredentials, RateLimited, TokenNotUsable
from shared.passwords import Passwords
from shared.testing.helpers import hook_caller, random_email, random_suffix
from shared.throttle import CredentialThrottle

PASSWORD = "violet lanterns drift south"
WRONG = "not the password"
UNKNOWN_TOKEN = "U" * 43


def new_client() -> str:
    """An address of a client of its own (IPv6 documentation prefix)."""
    suffix = random_suffix()
    return f"2001:db8::{suffix[:4]}:{suffix[4:8]}"


def start_invitations(container_factory, settings):
    container = container_factory(InvitationsService, settings.nameko_config())
    container.start()
    return hook_caller(container)


def new_account(infra) -> str:
    """A portal account with PASSWORD, as accepting an invitation would leave it."""
    email = random_email("person")  # lower case already: its own normalized form
    with infra.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO invitations.portal_accounts (id, email, email_normalized, password_hash, "
                "display_name, locale) VALUES (:id, :email, :email, :hash, 'Pat Person', 'en-GB')"
            ),
            {"id": uuid.uuid4(), "email": email, "hash": Passwords().hash(PASSWORD)},
        )
    return email


def sign_in(call, email, password, client):
    return call(i.LOGIN, i.Login(email=email, password=password, client=client))


def until(condition, seconds: float = 10) -> bool:
    deadline = utc_now() + timedelta(seconds=seconds)
    while not condition() and utc_now() < deadline:
        eventlet.sleep(0.1)
    return condition()


def test_a_strangers_wrong_passwords_do_not_keep_the_person_out_of_their_own_client(
    container_factory, settings, infra
):
    call = start_invitations(container_factory, settings)
    email = new_account(infra)
    stranger, own = new_client(), new_client()

    for _ in range(settings.throttle_account_burst):
        with pytest.raises(InvalidCredentials):
            sign_in(call, email, WRONG, stranger)
    with pytest.raises(RateLimited) as refused:  # the right password too, from the stranger's client
        sign_in(call, email, PASSWORD, stranger)
    assert refused.value.retry_after > 0

    issued = sign_in(call, email.upper(), PASSWORD, own)
    assert call(i.CHECK_SESSION, i.SessionRef(session_id=issued.session_id)).email == email


def test_one_clients_bound_covers_sign_in_forgot_password_reset_accept_and_join(container_factory, settings):
    settings = settings.model_copy(update={"throttle_client_burst": 6})
    call = start_invitations(container_factory, settings)
    client, bystander = new_client(), new_client()

    def forgot(who):
        return call(i.REQUEST_PASSWORD_RESET, i.RequestPasswordReset(email=random_email(), client=who))

    forms = {
        "sign in": lambda: sign_in(call, random_email("nobody"), WRONG, client),
        "forgot password": lambda: forgot(client),
        "reset": lambda: call(
            i.RESET_PASSWORD,
            i.ResetPassword(
                token=UNKNOWN_TOKEN, password=PASSWORD, password_confirmation=PASSWORD, client=client
            ),
        ),
        "accept": lambda: call(
            i.ACCEPT_INVITATION,
            i.AcceptInvitation(
                token=UNKNOWN_TOKEN, password=PASSWORD, password_confirmation=PASSWORD, client=client
            ),
        ),
        "join": lambda: call(
            i.ACCEPT_INVITATION_AS_ACCOUNT,
            i.AcceptInvitationAsAccount(token=UNKNOWN_TOKEN, password=PASSWORD, client=client),
        ),
    }
    # Six attempts, each at another email or link: each answered as usual.
    with pytest.raises(InvalidCredentials):
        forms["sign in"]()
    with pytest.raises(InvalidCredentials):
        forms["sign in"]()
    forms["forgot password"]()
    forms["forgot password"]()
    with pytest.raises(TokenNotUsable):
        forms["reset"]()
    with pytest.raises(TokenNotUsable):
        forms["accept"]()

    for name in ("join", "forgot password", "sign in", "reset", "accept"):
        with pytest.raises(RateLimited) as refused:
            forms[name]()
        assert refused.value.retry_after > 0, name
    # Another client is answered as before.
    forgot(bystander)
    with pytest.raises(InvalidCredentials):
        sign_in(call, random_email("nobody"), WRONG, bystander)


def test_drained_rows_and_answered_reset_requests_past_their_retention_are_pruned(
    container_factory, settings, infra
):
    settings = settings.model_copy(update={"throttle_prune_seconds": 0.2, "reset_request_retention_hours": 1})
    call = start_invitations(container_factory, settings)
    guard = CredentialThrottle(credential_throttle, "portal", settings)
    old_client, fresh_client = new_client(), new_client()
    old_email, recent_email = random_email("old"), random_email("recent")
    for email, client in ((old_email, old_client), (recent_email, fresh_client)):
        call(i.REQUEST_PASSWORD_RESET, i.RequestPasswordReset(email=email, client=client))

    def requests() -> dict[str, object]:
        with infra.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT email_normalized, processed_at FROM invitations.password_reset_requests "
                    "WHERE email_normalized IN (:old, :recent)"
                ),
                {"old": old_email, "recent": recent_email},
            ).all()
        return dict(rows)  # type: ignore[arg-type]

    def throttle_keys() -> set[str]:
        with infra.engine.connect() as conn:
            return set(conn.execute(text("SELECT key FROM invitations.credential_throttle")).scalars())

    assert until(lambda: all(processed for processed in requests().values()) and len(requests()) == 2)
    # Two hours on for the old request and a day on for the old client's bucket.
    with infra.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE invitations.password_reset_requests SET processed_at = processed_at - "
                "interval '2 hours' WHERE email_normalized = :old"
            ),
            {"old": old_email},
        )
        conn.execute(
            text(
                "UPDATE invitations.credential_throttle SET empty_at = empty_at - interval '1 day' "
                "WHERE key = :key"
            ),
            {"key": guard.by_client(old_client).digest},
        )

    assert until(lambda: set(requests()) == {recent_email}), requests()
    assert until(lambda: guard.by_client(old_client).digest not in throttle_keys())
    assert guard.by_client(fresh_client).digest in throttle_keys()
