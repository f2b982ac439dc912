"""The credential throttle on staff sign-in (shared/shared/throttle.py): counted per (email,
client) and per client in PostgreSQL, checked and counted in one statement, drained with time and
pruned. Through the contacts service's entrypoints, on the real PostgreSQL and RabbitMQ."""

from datetime import timedelta

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from contacts.models import credential_throttle
from contacts.service import ContactsService
from shared.contracts import contacts as c
from shared.contracts.common import utc_now
from shared.contracts.errors import InvalidCredentials, RateLimited
from shared.testing.helpers import (
    ADMIN_PASSWORD,
    hook_caller,
    random_email,
    random_name,
    random_suffix,
    rpc_over_broker,
)
from shared.throttle import CredentialThrottle, Key

WRONG = "wrong password 123"


def new_client() -> str:
    """An address of a client of its own (IPv6 documentation prefix)."""
    suffix = random_suffix()
    return f"2001:db8::{suffix[:4]}:{suffix[4:8]}"


def sign_in(call, email, password, client):
    return call(c.STAFF_LOGIN, c.StaffLogin(email=email, password=password, client=client))


def start_contacts(container_factory, settings):
    container = container_factory(ContactsService, settings.nameko_config())
    container.start()
    call = hook_caller(container)
    org = call(
        c.CREATE_ORGANIZATION,
        c.CreateOrganization(
            name=random_name("Org"),
            admin_email=random_email("admin"),
            admin_name="Ada Admin",
            admin_password=ADMIN_PASSWORD,
        ),
    )
    return call, org


def shift_back(infra, keys: list[Key], by: timedelta) -> None:
    """The clock moves on by `by` for these keys: their buckets drain as if that time had passed."""
    with infra.engine.begin() as conn:
        conn.execute(
            text("UPDATE contacts.credential_throttle SET empty_at = empty_at - :by WHERE key = ANY(:keys)"),
            {"by": by, "keys": [key.digest for key in keys]},
        )


def test_a_strangers_wrong_passwords_do_not_keep_the_admin_out_of_their_own_client(call, org, settings):
    """An admin has no password reset: a lock on their email would keep them out for good."""
    stranger, admins_own = new_client(), new_client()
    for _ in range(settings.throttle_account_burst):
        with pytest.raises(InvalidCredentials):
            sign_in(call, org.admin.email, WRONG, stranger)
    with pytest.raises(RateLimited) as refused:  # the right password too, from the stranger's client
        sign_in(call, org.admin.email, ADMIN_PASSWORD, stranger)
    assert refused.value.retry_after > 0

    issued = sign_in(call, org.admin.email.upper(), ADMIN_PASSWORD, admins_own)
    assert issued.principal.staff_member.id == org.admin.id
    with pytest.raises(RateLimited):  # the admin signing in frees nothing for the stranger
        sign_in(call, org.admin.email, WRONG, stranger)


def test_fifty_parallel_wrong_attempts_are_all_counted_and_only_the_burst_is_checked(
    container_factory, settings, infra
):
    """Check and count are one statement: of 50 attempts at once, exactly the burst get their
    password checked, and all 50 are counted (on the email from that client and on the client)."""
    settings = settings.model_copy(update={"throttle_max_wait_seconds": 86_400})  # no ceiling below 50
    _, org = start_contacts(container_factory, settings)
    over_broker = rpc_over_broker(settings.nameko_config())
    client = new_client()

    def attempt(_):
        try:
            return sign_in(over_broker, org.admin.email, WRONG, client)
        except Exception as exc:
            return exc

    started = utc_now()
    outcomes = list(eventlet.GreenPool(50).imap(attempt, range(50)))

    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds.count("InvalidCredentials") == settings.throttle_account_burst, kinds
    assert kinds.count("RateLimited") == 50 - settings.throttle_account_burst, kinds
    guard = CredentialThrottle(credential_throttle, "staff", settings)
    with Session(infra.engine) as session:
        levels = [
            guard.level(session, key, started)
            for key in (guard.by_account(org.admin.email, client), guard.by_client(client))
        ]
    # Each bucket, as of the first attempt, holds exactly 50 (what drained since is under one).
    assert [int(level) for level in levels] == [50, 50], levels


def test_waiting_lets_attempts_through_again_and_drained_rows_are_pruned(container_factory, settings, infra):
    settings = settings.model_copy(update={"throttle_prune_seconds": 0.2})
    call, org = start_contacts(container_factory, settings)
    guard = CredentialThrottle(credential_throttle, "staff", settings)
    client, bystander = new_client(), new_client()
    keys = [guard.by_account(org.admin.email, client), guard.by_client(client)]
    burst = settings.throttle_account_burst

    for _ in range(burst - 1):
        with pytest.raises(InvalidCredentials):
            sign_in(call, org.admin.email, WRONG, client)
    # A day later those failures have drained away: a whole burst again, not a lock at the next one.
    shift_back(infra, keys, timedelta(days=1))
    for _ in range(burst):
        with pytest.raises(InvalidCredentials):
            sign_in(call, org.admin.email, WRONG, client)
    with pytest.raises(RateLimited) as refused:
        sign_in(call, org.admin.email, ADMIN_PASSWORD, client)
    # Waiting what Retry-After says lets the next attempt in.
    shift_back(infra, keys, timedelta(seconds=refused.value.retry_after))
    assert sign_in(call, org.admin.email, ADMIN_PASSWORD, client).principal.staff_member.id == org.admin.id

    with pytest.raises(InvalidCredentials):
        sign_in(call, org.admin.email, WRONG, bystander)
    shift_back(infra, keys, timedelta(days=1))  # drained: the timer deletes their rows

    def stored() -> set[str]:
        with infra.engine.connect() as conn:
            return set(conn.execute(text("SELECT key FROM contacts.credential_throttle")).scalars())

    deadline = utc_now() + timedelta(seconds=10)
    while stored() & {key.digest for key in keys} and utc_now() < deadline:
        eventlet.sleep(0.1)
    assert not stored() & {key.digest for key in keys}, "drained rows were not pruned"
    assert guard.by_client(bystander).digest in stored(), "a bucket that has not drained was pruned"
