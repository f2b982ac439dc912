"""nameko entrypoints of the invitations service: each parses its payload and calls one use case
(a module of its own: `issuing`, `bulk`, `revoking`, `queries`, `accounts`, `resets`, `view_as`,
`expiry`, `delivery`, `relationships`)."""

from __future__ import annotations

import time
from typing import Any

from invitations import (
    accounts,
    bulk,
    delivery,
    eligibility,
    expiry,
    issuing,
    queries,
    relationships,
    resets,
    revoking,
    view_as,
)
from invitations.models import inbox, outbox
from shared import topology as t
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts.common import utc_now
from shared.contracts.errors import ServiceError
from shared.contracts.validation import parse
from shared.messaging import ServiceRpc, batch_event_handler, event_handler, rpc, timer
from shared.providers import Database, HealthCheck, OutboxRelay, PasswordHashing, Settings

Json = dict[str, Any]
expected = {"expected_exceptions": ServiceError}


class InvitationsService(HealthCheck):
    """Owns invitations (token digests, states and their history, expiry, supersession), portal
    accounts and their credentials, sessions, password resets, access grants, and the audit of
    every access change."""

    name = "invitations"

    db = Database()
    passwords = PasswordHashing()
    relay = OutboxRelay(outbox, inbox)
    remote = ServiceRpc()
    settings = Settings()

    # --- staff ---

    @rpc(**expected)
    def check_eligibility(self, payload: Json) -> Json:
        cmd = parse(i.CheckEligibility, payload)
        return eligibility.check_eligibility(self.db, self.remote, cmd).model_dump(mode="json")

    @rpc(**expected)
    def send_invitation(self, payload: Json) -> Json:
        cmd = parse(i.SendInvitation, payload)
        view = issuing.send_invitation(self.db, self.remote, self.settings, cmd, utc_now(), resend=False)
        return view.model_dump(mode="json")

    @rpc(**expected)
    def resend_invitation(self, payload: Json) -> Json:
        cmd = parse(i.SendInvitation, payload)
        view = issuing.send_invitation(self.db, self.remote, self.settings, cmd, utc_now(), resend=True)
        return view.model_dump(mode="json")

    @rpc(**expected)
    def revoke_access(self, payload: Json) -> Json:
        cmd = parse(i.RevokeAccess, payload)
        return revoking.revoke_access(self.db, self.remote, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def list_invitations(self, payload: Json) -> Json:
        return queries.list_invitations(self.db, parse(i.ListInvitations, payload)).model_dump(mode="json")

    @rpc(**expected)
    def get_invitation(self, payload: Json) -> Json:
        return queries.get_invitation(self.db, parse(i.GetInvitation, payload)).model_dump(mode="json")

    @rpc(**expected)
    def get_portal_access(self, payload: Json) -> Json:
        return queries.get_portal_access(self.db, parse(i.GetPortalAccess, payload)).model_dump(mode="json")

    @rpc(**expected)
    def list_access_audit(self, payload: Json) -> Json:
        return queries.list_access_audit(self.db, parse(i.ListAccessAudit, payload)).model_dump(mode="json")

    @rpc(**expected)
    def start_bulk_invitation(self, payload: Json) -> Json:
        cmd = parse(i.StartBulkInvitation, payload)
        return bulk.start_bulk_invitation(self.db, self.remote, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def get_bulk_invitation(self, payload: Json) -> Json:
        return bulk.get_bulk_invitation(self.db, parse(i.GetBulkInvitation, payload)).model_dump(mode="json")

    @rpc(**expected)
    def start_view_as(self, payload: Json) -> Json:
        cmd = parse(i.StartViewAs, payload)
        return view_as.start_view_as(self.db, self.remote, self.settings, cmd, utc_now()).model_dump(
            mode="json"
        )

    @rpc(**expected)
    def check_view_as(self, payload: Json) -> Json:
        q = parse(i.SessionRef, payload)
        return view_as.check_view_as(self.db, q.session_id, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def end_view_as(self, payload: Json) -> Json:
        view_as.end_view_as(self.db, parse(i.SessionRef, payload).session_id, utc_now())
        return {}

    # --- the person ---

    @rpc(**expected)
    def open_invitation(self, payload: Json) -> Json:
        q = parse(i.OpenInvitation, payload)
        return accounts.open_invitation(self.db, q.token, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def accept_invitation(self, payload: Json) -> Json:
        cmd = parse(i.AcceptInvitation, payload)
        issued = accounts.accept_invitation(self.db, self.passwords, self.settings, cmd, utc_now())
        return issued.model_dump(mode="json")

    @rpc(**expected)
    def accept_invitation_as_account(self, payload: Json) -> Json:
        cmd = parse(i.AcceptInvitationAsAccount, payload)
        issued = accounts.accept_invitation_as_account(self.db, self.passwords, self.settings, cmd, utc_now())
        return issued.model_dump(mode="json")

    @rpc(**expected)
    def login(self, payload: Json) -> Json:
        cmd = parse(i.Login, payload)
        return accounts.login(self.db, self.passwords, self.settings, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def logout(self, payload: Json) -> Json:
        accounts.logout(self.db, parse(i.SessionRef, payload).session_id, utc_now())
        return {}

    @rpc(**expected)
    def check_session(self, payload: Json) -> Json:
        q = parse(i.SessionRef, payload)
        return accounts.check_session(self.db, q.session_id, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def request_password_reset(self, payload: Json) -> Json:
        cmd = parse(i.RequestPasswordReset, payload)
        resets.request_password_reset(self.db, self.settings, cmd, utc_now())
        return {}

    @rpc(**expected)
    def open_password_reset(self, payload: Json) -> Json:
        q = parse(i.OpenPasswordReset, payload)
        return resets.open_password_reset(self.db, q.token, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def reset_password(self, payload: Json) -> Json:
        cmd = parse(i.ResetPassword, payload)
        issued = resets.reset_password(self.db, self.passwords, self.settings, cmd, utc_now())
        return issued.model_dump(mode="json")

    # --- time ---

    @timer("expiry_sweep_seconds")
    def expire_invitations(self) -> None:
        expiry.expire_invitations(self.db, utc_now())

    @timer("bulk_poll_seconds")
    def process_bulk_invitations(self) -> None:
        """Batch after batch while there are contacts waiting (each batch its own transaction),
        for at most `bulk_tick_seconds`: a bulk is not held to one batch per tick."""
        until = time.monotonic() + self.settings.bulk_tick_seconds
        while bulk.process_bulk_invitations(self.db, self.remote, self.settings, utc_now()):
            if time.monotonic() >= until:
                break

    @timer("reset_poll_seconds")
    def process_reset_requests(self) -> None:
        resets.process_reset_requests(self.db, self.settings, utc_now())

    @timer("throttle_prune_seconds")
    def prune_credential_records(self) -> None:
        resets.prune_credential_records(self.db, self.settings, utc_now())

    # --- facts from notifications ---

    @batch_event_handler(t.DELIVERY_QUEUED)
    def on_delivery_queued(self, payloads: list[Json]) -> None:
        events = [parse(e.DeliveryQueued, payload) for payload in payloads]
        delivery.apply_delivery_facts(self.db, events, "queued", t.DELIVERY_QUEUED.inbox_key)

    @batch_event_handler(t.DELIVERY_SUCCEEDED)
    def on_delivery_succeeded(self, payloads: list[Json]) -> None:
        events = [parse(e.DeliverySucceeded, payload) for payload in payloads]
        delivery.apply_delivery_facts(self.db, events, "succeeded", t.DELIVERY_SUCCEEDED.inbox_key)

    @batch_event_handler(t.DELIVERY_FAILED)
    def on_delivery_failed(self, payloads: list[Json]) -> None:
        events = [parse(e.DeliveryFailed, payload) for payload in payloads]
        delivery.apply_delivery_facts(self.db, events, "failed", t.DELIVERY_FAILED.inbox_key)

    # --- facts from properties and contacts: access follows the relationship ---

    @event_handler(t.LEASE_ENDED)
    def on_lease_ended(self, payload: Json) -> None:
        event = parse(e.LeaseEnded, payload)
        relationships.on_lease_ended(self.db, self.remote, event, t.LEASE_ENDED.inbox_key, utc_now())

    @event_handler(t.PROPERTY_CONTACT_UNLINKED)
    def on_property_contact_unlinked(self, payload: Json) -> None:
        event = parse(e.PropertyContactUnlinked, payload)
        relationships.on_property_contact_unlinked(
            self.db, self.remote, event, t.PROPERTY_CONTACT_UNLINKED.inbox_key, utc_now()
        )

    @event_handler(t.CONTACT_EMAIL_CHANGED)
    def on_contact_email_changed(self, payload: Json) -> None:
        event = parse(e.ContactEmailChanged, payload)
        relationships.on_contact_email_changed(self.db, event, t.CONTACT_EMAIL_CHANGED.inbox_key, utc_now())
