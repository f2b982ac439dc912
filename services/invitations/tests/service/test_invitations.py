"""The invitations service through its nameko entrypoints, with contacts and properties running,
on the real PostgreSQL and RabbitMQ."""

import json

import eventlet
import pytest
from kombu import Connection
from nameko.testing.services import entrypoint_hook
from sqlalchemy import text

from shared.contracts import invitations as i
from shared.contracts.common import ContactType, InvitationState, StaffRole
from shared.contracts.contacts import CREATE_STAFF_MEMBER, CreateStaffMember
from shared.contracts.errors import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    NotEligible,
    NotFound,
    PasswordRejected,
    PermissionDenied,
    RateLimited,
    TokenNotUsable,
)
from shared.contracts.invitations import LinkStatus, PortalStatus
from shared.testing.helpers import (
    EventCollector,
    owner_dispatcher,
    random_email,
)
from shared.topology import Subscription

PASSWORD = "violet lanterns drift south"
S = InvitationState


@pytest.fixture
def events(settings):
    collector = EventCollector(
        settings.amqp_uri,
        "invitations",
        [
            "invitation_sent",
            "invitation_accepted",
            "access_granted",
            "access_revoked",
            "invitation_revoked",
            "invitation_expired",
            "password_reset_requested",
        ],
    )
    yield collector
    collector.close()


def send(platform, org, contact, events, *, resend=False):
    """Send (or resend) and return the invitation with the raw token from its sealed link."""
    method = i.RESEND_INVITATION if resend else i.SEND_INVITATION
    view = platform.invitations(method, i.SendInvitation(actor=org.actor, contact_id=contact.id))
    _, payload = events.until(
        lambda kind, p: kind == "invitation_sent" and p["invitation_id"] == str(view.id)
    )
    link = platform.settings.link_sealer.open(payload["sealed_link"]).link
    assert link.startswith("https://portal.example.com/invite/")
    return view, link.rsplit("/", 1)[1]


def accept(platform, token, password=PASSWORD):
    return platform.invitations(
        i.ACCEPT_INVITATION,
        i.AcceptInvitation(token=token, password=password, password_confirmation=password),
    )


def test_eligibility_gives_every_reason(platform):
    org = platform.new_org()
    viewer = platform.contacts(
        CREATE_STAFF_MEMBER,
        CreateStaffMember(actor=org.actor, email=random_email("viewer"), name="Vee", role=StaffRole.VIEWER),
    )
    tenant_without_lease = platform.contact(org)
    as_viewer = org.actor.model_copy(update={"staff_member_id": viewer.id})

    answer = platform.invitations(
        i.CHECK_ELIGIBILITY, i.CheckEligibility(actor=as_viewer, contact_id=tenant_without_lease.id)
    )
    assert not answer.eligible
    assert [r.code for r in answer.reasons] == ["staff_not_permitted", "no_active_lease"]

    with pytest.raises(NotEligible) as refused:
        platform.invitations(
            i.SEND_INVITATION, i.SendInvitation(actor=as_viewer, contact_id=tenant_without_lease.id)
        )
    assert [r["code"] for r in refused.value.details["reasons"]] == ["staff_not_permitted", "no_active_lease"]


def test_send_then_accept_signs_the_person_in_with_one_membership(platform, events, infra):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)

    view, token = send(platform, org, tenant, events)
    assert view.state == S.PENDING
    assert view.email == tenant.email
    assert [h.state for h in view.history] == [S.PENDING]
    with infra.engine.connect() as conn:  # the token itself is stored nowhere
        stored = conn.execute(
            text("SELECT * FROM invitations.invitations WHERE id = :id"), {"id": view.id}
        ).one()
        outbox = conn.execute(text("SELECT payload::text FROM invitations.outbox")).scalars().all()
    assert token not in json.dumps([str(v) for v in stored])
    assert not any(token in row for row in outbox)

    landing = platform.invitations(i.OPEN_INVITATION, i.OpenInvitation(token=token))
    assert landing.status == LinkStatus.USABLE
    assert landing.email == tenant.email
    assert landing.recipient_name == tenant.display_name
    assert not landing.account_exists

    issued = accept(platform, token)
    portal = platform.invitations(i.CHECK_SESSION, i.SessionRef(session_id=issued.session_id))
    assert portal.email == tenant.email
    assert [(m.organization_id, m.contact_id, m.contact_type) for m in portal.memberships] == [
        (org.id, tenant.id, ContactType.TENANT)
    ]
    kinds = {events.until(lambda kind, p: p.get("contact_id") == str(tenant.id))[0] for _ in range(2)}
    assert kinds == {"invitation_accepted", "access_granted"}

    access = platform.invitations(
        i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org.id, contact_ids=[tenant.id])
    )
    assert access.items[0].status == PortalStatus.ACTIVE
    assert access.items[0].latest_invitation.state == S.ACCEPTED


def test_a_used_unknown_superseded_revoked_or_expired_link_is_refused_with_its_reason(
    platform, events, infra
):
    org = platform.new_org()

    used_contact = platform.tenant_with_lease(org)
    _, used = send(platform, org, used_contact, events)
    accept(platform, used)

    superseded_contact = platform.tenant_with_lease(org)
    _, superseded = send(platform, org, superseded_contact, events)
    send(platform, org, superseded_contact, events, resend=True)

    revoked_contact = platform.tenant_with_lease(org)
    _, revoked = send(platform, org, revoked_contact, events)
    platform.invitations(i.REVOKE_ACCESS, i.RevokeAccess(actor=org.actor, contact_id=revoked_contact.id))

    expired_contact = platform.tenant_with_lease(org)
    expired_view, expired = send(platform, org, expired_contact, events)
    with infra.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE invitations.invitations SET expires_at = now() - interval '1 second' WHERE id = :id"
            ),
            {"id": expired_view.id},
        )

    cases = {
        used: "used",
        "U" * 43: "unknown",
        superseded: "superseded",
        revoked: "revoked",
        expired: "expired",
    }
    for token, reason in cases.items():
        assert platform.invitations(i.OPEN_INVITATION, i.OpenInvitation(token=token)).status == reason
        with pytest.raises(TokenNotUsable) as refused:
            accept(platform, token)
        assert refused.value.details["reason"] == reason


def test_the_expiry_sweep_expires_and_announces(platform, events, infra):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    view, _ = send(platform, org, tenant, events)
    with infra.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE invitations.invitations SET expires_at = now() - interval '1 second' WHERE id = :id"
            ),
            {"id": view.id},
        )
    events.until(lambda kind, p: kind == "invitation_expired" and p["invitation_id"] == str(view.id))
    page = platform.invitations(
        i.LIST_INVITATIONS, i.ListInvitations(organization_id=org.id, contact_id=tenant.id)
    )
    assert page.items[0].state == S.EXPIRED
    assert [h.state for h in page.items[0].history] == [S.PENDING, S.EXPIRED]


def test_twenty_concurrent_accepts_of_one_token_make_exactly_one_account(platform, events, infra):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    _, token = send(platform, org, tenant, events)
    request = i.AcceptInvitation(token=token, password=PASSWORD, password_confirmation=PASSWORD)

    def attempt(_):
        try:
            return platform.over_broker(i.ACCEPT_INVITATION, request)
        except Exception as exc:
            return exc

    outcomes = list(eventlet.GreenPool(20).imap(attempt, range(20)))

    sessions = [o for o in outcomes if isinstance(o, i.SessionIssued)]
    refusals = [o for o in outcomes if isinstance(o, TokenNotUsable)]
    assert len(sessions) == 1, outcomes
    assert len(refusals) == 19
    assert {r.details["reason"] for r in refusals} == {"used"}
    with infra.engine.connect() as conn:
        accounts = conn.execute(
            text("SELECT count(*) FROM invitations.portal_accounts WHERE email_normalized = lower(:email)"),
            {"email": tenant.email},
        ).scalar()
        grants = conn.execute(
            text("SELECT count(*) FROM invitations.access_grants WHERE contact_id = :id"), {"id": tenant.id}
        ).scalar()
    assert (accounts, grants) == (1, 1)


def test_a_resend_inside_the_cooldown_is_refused_with_retry_after(make_platform, settings):
    platform = make_platform(settings.model_copy(update={"resend_cooldown_seconds": 60}))
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    platform.invitations(i.SEND_INVITATION, i.SendInvitation(actor=org.actor, contact_id=tenant.id))

    with pytest.raises(RateLimited) as refused:
        platform.invitations(i.RESEND_INVITATION, i.SendInvitation(actor=org.actor, contact_id=tenant.id))
    assert 0 < refused.value.retry_after <= 60


def test_the_same_idempotency_key_again_answers_the_first_invitation_and_sends_nothing(
    make_platform, settings
):
    # Inside the resend cooldown a second request without the key would be refused (429).
    platform = make_platform(settings.model_copy(update={"resend_cooldown_seconds": 60}))
    org = platform.new_org()
    tenant, other = platform.tenant_with_lease(org), platform.tenant_with_lease(org)
    request = i.SendInvitation(actor=org.actor, contact_id=tenant.id, idempotency_key="retry-after-a-504")

    first = platform.invitations(i.SEND_INVITATION, request)
    again = platform.invitations(i.SEND_INVITATION, request)

    assert again.id == first.id
    page = platform.invitations(
        i.LIST_INVITATIONS, i.ListInvitations(organization_id=org.id, contact_id=tenant.id)
    )
    assert [inv.id for inv in page.items] == [first.id]
    with pytest.raises(Conflict):
        platform.invitations(i.SEND_INVITATION, request.model_copy(update={"contact_id": other.id}))
    # Another key is another request: inside the cooldown, refused.
    with pytest.raises(RateLimited):
        platform.invitations(
            i.RESEND_INVITATION,
            i.SendInvitation(actor=org.actor, contact_id=tenant.id, idempotency_key="another-key-1"),
        )


def test_another_organizations_contact_and_invitations_are_not_found(platform, events):
    org, other = platform.new_org(), platform.new_org()
    tenant = platform.tenant_with_lease(org)
    send(platform, org, tenant, events)

    for method in (i.SEND_INVITATION, i.RESEND_INVITATION):
        with pytest.raises(NotFound):
            platform.invitations(method, i.SendInvitation(actor=other.actor, contact_id=tenant.id))
    with pytest.raises(NotFound):
        platform.invitations(i.REVOKE_ACCESS, i.RevokeAccess(actor=other.actor, contact_id=tenant.id))
    with pytest.raises(NotFound):
        platform.invitations(i.CHECK_ELIGIBILITY, i.CheckEligibility(actor=other.actor, contact_id=tenant.id))
    listed = platform.invitations(
        i.LIST_INVITATIONS, i.ListInvitations(organization_id=other.id, contact_id=tenant.id)
    )
    assert listed.total == 0


def test_a_second_organization_joins_the_existing_account(platform, events):
    email = random_email("person")
    first_org, second_org = platform.new_org(), platform.new_org()
    first, second = (
        platform.tenant_with_lease(first_org, email),
        platform.tenant_with_lease(second_org, email),
    )
    _, first_token = send(platform, first_org, first, events)
    accept(platform, first_token)

    _, second_token = send(platform, second_org, second, events)
    assert platform.invitations(i.OPEN_INVITATION, i.OpenInvitation(token=second_token)).account_exists
    with pytest.raises(Conflict) as refused:
        accept(platform, second_token, password="another long passphrase")
    assert refused.value.details["reason"] == "account_exists"
    with pytest.raises(InvalidCredentials):
        platform.invitations(
            i.ACCEPT_INVITATION_AS_ACCOUNT,
            i.AcceptInvitationAsAccount(token=second_token, password="wrong one here!"),
        )

    issued = platform.invitations(
        i.ACCEPT_INVITATION_AS_ACCOUNT, i.AcceptInvitationAsAccount(token=second_token, password=PASSWORD)
    )
    portal = platform.invitations(i.CHECK_SESSION, i.SessionRef(session_id=issued.session_id))
    assert {m.organization_id for m in portal.memberships} == {first_org.id, second_org.id}


def test_revoke_ends_invitations_access_and_sessions_at_once(platform, events):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    _, token = send(platform, org, tenant, events)
    issued = accept(platform, token)
    again = platform.invitations(i.LOGIN, i.Login(email=tenant.email, password=PASSWORD))

    result = platform.invitations(
        i.REVOKE_ACCESS, i.RevokeAccess(actor=org.actor, contact_id=tenant.id, reason="moved out")
    )

    assert (result.revoked_grants, result.ended_sessions) == (1, 2)
    for session_id in (issued.session_id, again.session_id):
        with pytest.raises(InvalidCredentials):
            platform.invitations(i.CHECK_SESSION, i.SessionRef(session_id=session_id))
    _, revoked = events.until(lambda kind, p: kind == "access_revoked" and p["contact_id"] == str(tenant.id))
    assert revoked["reason"] == "moved out"
    access = platform.invitations(
        i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org.id, contact_ids=[tenant.id])
    )
    assert access.items[0].status == PortalStatus.REVOKED


def test_the_access_audit_lists_every_change_newest_first_and_only_for_that_contact(platform, events):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    neighbour = platform.tenant_with_lease(org)
    _, token = send(platform, org, tenant, events)
    send(platform, org, neighbour, events)
    accept(platform, token)
    platform.invitations(
        i.REVOKE_ACCESS, i.RevokeAccess(actor=org.actor, contact_id=tenant.id, reason="moved out")
    )

    audit = platform.invitations(
        i.LIST_ACCESS_AUDIT, i.ListAccessAudit(organization_id=org.id, contact_id=tenant.id)
    )

    assert [entry.action for entry in audit.items] == ["access_revoked", "access_granted", "invitation_sent"]
    assert audit.total == 3
    revoked, granted, sent = audit.items
    assert revoked.staff_member_id == org.actor.staff_member_id and "moved out" in (revoked.detail or "")
    assert granted.account_id is not None and granted.staff_member_id is None
    assert sent.staff_member_id == org.actor.staff_member_id
    other_org = platform.new_org()
    elsewhere = platform.invitations(
        i.LIST_ACCESS_AUDIT, i.ListAccessAudit(organization_id=other_org.id, contact_id=tenant.id)
    )
    assert elsewhere.items == [] and elsewhere.total == 0


def test_passwords_are_checked_and_never_accepted_weak(platform, events):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    _, token = send(platform, org, tenant, events)
    with pytest.raises(InvalidInput) as mismatch:
        platform.invitations(
            i.ACCEPT_INVITATION,
            i.AcceptInvitation(token=token, password=PASSWORD, password_confirmation=PASSWORD + "x"),
        )
    assert mismatch.value.details["errors"][0]["field"] == "password_confirmation"
    with pytest.raises(PasswordRejected):
        accept(platform, token, password="password1234")
    # the token was not used by either failure
    assert platform.invitations(i.OPEN_INVITATION, i.OpenInvitation(token=token)).status == LinkStatus.USABLE


def test_sign_in_failures_look_the_same_for_known_and_unknown_emails(platform, events):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    _, token = send(platform, org, tenant, events)
    accept(platform, token)

    answers = []
    for email in (tenant.email, random_email("nobody")):
        failures = set()
        for _ in range(platform.settings.throttle_account_burst):
            with pytest.raises(InvalidCredentials) as failed:
                platform.invitations(i.LOGIN, i.Login(email=email, password="not the password"))
            failures.add(failed.value.message)
        with pytest.raises(RateLimited) as locked:
            platform.invitations(i.LOGIN, i.Login(email=email, password=PASSWORD))
        answers.append((failures, locked.value.message))
    assert answers[0] == answers[1]


def test_password_reset_for_a_known_email_only(platform, events):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    _, token = send(platform, org, tenant, events)
    old_session = accept(platform, token)

    platform.invitations(i.REQUEST_PASSWORD_RESET, i.RequestPasswordReset(email=random_email("nobody")))
    platform.invitations(i.REQUEST_PASSWORD_RESET, i.RequestPasswordReset(email=tenant.email.upper()))
    # Requests are answered in order, so the first reset event is the known email's one.
    _, reset = events.until(lambda kind, p: kind == "password_reset_requested")
    assert reset["email"] == tenant.email
    link = platform.settings.link_sealer.open(reset["sealed_link"]).link
    assert link.startswith("https://portal.example.com/reset/")
    reset_token = link.rsplit("/", 1)[1]

    assert (
        platform.invitations(i.OPEN_PASSWORD_RESET, i.OpenPasswordReset(token=reset_token)).status == "usable"
    )
    new_password = "seven quiet harbours north"
    issued = platform.invitations(
        i.RESET_PASSWORD,
        i.ResetPassword(token=reset_token, password=new_password, password_confirmation=new_password),
    )
    platform.invitations(i.CHECK_SESSION, i.SessionRef(session_id=issued.session_id))
    with pytest.raises(InvalidCredentials):  # the reset ends every older session
        platform.invitations(i.CHECK_SESSION, i.SessionRef(session_id=old_session.session_id))
    with pytest.raises(TokenNotUsable):  # single use
        platform.invitations(
            i.RESET_PASSWORD,
            i.ResetPassword(token=reset_token, password=new_password, password_confirmation=new_password),
        )
    platform.invitations(i.LOGIN, i.Login(email=tenant.email, password=new_password))


def test_delivery_facts_move_the_invitation_once_each(platform, events, settings):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    view, _ = send(platform, org, tenant, events)
    dispatch = owner_dispatcher(settings.amqp_uri)
    base = {
        "organization_id": str(org.id),
        "purpose": "invitation",
        "subject_id": str(view.id),
        "delivery_id": str(view.id),
    }

    queued = {
        **base,
        "event_id": "5d0a3a55-0000-4000-8000-000000000001",
        "occurred_at": "2026-11-21T10:00:00Z",
    }
    delivered = {
        **base,
        "event_id": "5d0a3a55-0000-4000-8000-000000000002",
        "occurred_at": "2026-11-21T10:00:01Z",
        "smtp_reply": "250 2.0.0 Ok: queued",
    }
    dispatch("notifications", "delivery_queued", queued)
    dispatch("notifications", "delivery_succeeded", delivered)

    def history():
        page = platform.invitations(
            i.LIST_INVITATIONS, i.ListInvitations(organization_id=org.id, contact_id=tenant.id)
        )
        return [h.state for h in page.items[0].history]

    with eventlet.Timeout(10):
        while S.DELIVERED not in history():
            eventlet.sleep(0.05)
    # The same event delivered again (a redelivery after a crash, say) changes nothing.
    with entrypoint_hook(platform.containers["invitations"], "on_delivery_succeeded") as handle:
        handle([delivered])
    assert history() in ([S.PENDING, S.SENT, S.DELIVERED], [S.PENDING, S.DELIVERED])


def test_an_event_that_cannot_be_handled_is_parked_in_the_dead_letter_queue(platform, settings):
    dispatch = owner_dispatcher(settings.amqp_uri)
    dispatch("notifications", "delivery_failed", {"this": "is not a delivery_failed event"})
    dead = Subscription(
        "notifications", "delivery_failed", "invitations", "on_delivery_failed"
    ).dead_letter_queue

    with Connection(settings.amqp_uri) as conn, eventlet.Timeout(10):
        channel = conn.default_channel
        message = channel.basic_get(queue=dead, no_ack=True)
        while message is None:
            eventlet.sleep(0.05)
            message = channel.basic_get(queue=dead, no_ack=True)
    assert json.loads(message.body) == {"this": "is not a delivery_failed event"}
    assert message.headers["x-portal-error"].startswith("InvalidInput")


def wait_for_bulk(platform, org, job_id, done):
    with eventlet.Timeout(30):
        while True:
            view = platform.invitations(
                i.GET_BULK_INVITATION, i.GetBulkInvitation(organization_id=org.id, job_id=job_id)
            )
            if done(view):
                return view
            eventlet.sleep(0.1)


def test_a_bulk_invitation_checks_and_invites_each_contact_and_counts_the_rest(platform, events):
    org, other = platform.new_org(), platform.new_org()
    eligible = [platform.tenant_with_lease(org) for _ in range(3)]
    no_lease = platform.contact(org)
    elsewhere = platform.tenant_with_lease(other)
    ids = [c.id for c in eligible] + [no_lease.id, elsewhere.id, eligible[0].id]

    started = platform.invitations(
        i.START_BULK_INVITATION, i.StartBulkInvitation(actor=org.actor, contact_ids=ids)
    )
    assert (started.total, started.processed) == (5, 0)

    view = wait_for_bulk(platform, org, started.id, lambda v: v.finished_at is not None)
    assert (view.processed, view.invited, view.skipped) == (5, 3, 2)
    assert view.skipped_reasons == {"no_active_lease": 1, "not_found": 1}
    sent = {events.until(lambda kind, p: kind == "invitation_sent")[1]["contact_id"] for _ in range(3)}
    assert sent == {str(c.id) for c in eligible}
    access = platform.invitations(
        i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org.id, contact_ids=[c.id for c in eligible])
    )
    assert {a.status for a in access.items} == {PortalStatus.INVITED}

    with pytest.raises(NotFound):
        platform.invitations(
            i.GET_BULK_INVITATION, i.GetBulkInvitation(organization_id=other.id, job_id=view.id)
        )


def test_a_bulk_invitation_supersedes_live_invitations_and_sends_each_contact_a_working_link(
    platform, events
):
    org = platform.new_org()
    invited_before, fresh = platform.tenant_with_lease(org), platform.tenant_with_lease(org)
    older, _ = send(platform, org, invited_before, events)

    started = platform.invitations(
        i.START_BULK_INVITATION,
        i.StartBulkInvitation(actor=org.actor, contact_ids=[invited_before.id, fresh.id]),
    )
    view = wait_for_bulk(platform, org, started.id, lambda v: v.finished_at is not None)
    assert (view.invited, view.skipped) == (2, 0)

    page = platform.invitations(
        i.LIST_INVITATIONS, i.ListInvitations(organization_id=org.id, contact_id=invited_before.id)
    )
    by_id = {inv.id: inv for inv in page.items}
    assert [h.state for h in by_id[older.id].history] == [S.PENDING, S.SUPERSEDED]
    [newer] = [inv for inv in page.items if inv.id != older.id]
    assert [h.state for h in newer.history] == [S.PENDING]
    tokens = {}
    for _ in range(2):
        _, payload = events.until(lambda kind, p: kind == "invitation_sent")
        tokens[payload["contact_id"]] = platform.settings.link_sealer.open(payload["sealed_link"]).link
    assert set(tokens) == {str(invited_before.id), str(fresh.id)}
    for link in tokens.values():
        assert accept(platform, link.rsplit("/", 1)[1]).session_id


def test_a_bulk_invitation_skips_contacts_inside_the_cooldown_and_beyond_the_hourly_limit(
    make_platform, settings
):
    platform = make_platform(
        settings.model_copy(update={"resend_cooldown_seconds": 60, "invitations_per_staff_per_hour": 3})
    )
    org = platform.new_org()
    tenants = [platform.tenant_with_lease(org) for _ in range(4)]
    platform.invitations(i.SEND_INVITATION, i.SendInvitation(actor=org.actor, contact_id=tenants[0].id))

    started = platform.invitations(
        i.START_BULK_INVITATION, i.StartBulkInvitation(actor=org.actor, contact_ids=[t.id for t in tenants])
    )
    view = wait_for_bulk(platform, org, started.id, lambda v: v.finished_at is not None)
    # One of the hour's three went to the first contact just now: it is in its cooldown, which
    # spends nothing; the next two are invited, and the last one finds the hour's limit reached.
    assert (view.invited, view.skipped) == (2, 2)
    assert view.skipped_reasons == {"cooldown": 1, "staff_hourly_limit": 1}
    access = platform.invitations(
        i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org.id, contact_ids=[t.id for t in tenants])
    )
    invited = {a.contact_id for a in access.items if a.status == PortalStatus.INVITED}
    assert invited == {t.id for t in tenants[:3]}


def test_a_bulk_invitation_in_which_nobody_can_be_invited_still_finishes_with_the_reasons(platform):
    org, other = platform.new_org(), platform.new_org()
    ids = [platform.contact(org).id, platform.tenant_with_lease(other).id]

    started = platform.invitations(
        i.START_BULK_INVITATION, i.StartBulkInvitation(actor=org.actor, contact_ids=ids)
    )
    view = wait_for_bulk(platform, org, started.id, lambda v: v.finished_at is not None)
    assert (view.processed, view.invited, view.skipped) == (2, 0, 2)
    assert view.skipped_reasons == {"no_active_lease": 1, "not_found": 1}


def test_a_bulk_invitation_by_staff_without_the_permission_is_refused_at_once(platform):
    org = platform.new_org()
    viewer = platform.contacts(
        CREATE_STAFF_MEMBER,
        CreateStaffMember(actor=org.actor, email=random_email("viewer"), name="Vee", role=StaffRole.VIEWER),
    )
    tenant = platform.tenant_with_lease(org)
    as_viewer = org.actor.model_copy(update={"staff_member_id": viewer.id})
    with pytest.raises(PermissionDenied):
        platform.invitations(
            i.START_BULK_INVITATION, i.StartBulkInvitation(actor=as_viewer, contact_ids=[tenant.id])
        )
