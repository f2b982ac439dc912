"""nameko entrypoints of the notifications service: each parses its payload and calls one handler."""

from __future__ import annotations

from typing import Any

from notifications import handlers
from notifications.models import inbox, outbox
from shared import topology as t
from shared.contracts import events as e
from shared.contracts import notifications as n
from shared.contracts.errors import ServiceError
from shared.contracts.validation import parse
from shared.messaging import ServiceRpc, batch_event_handler, event_handler, rpc
from shared.providers import Database, HealthCheck, OutboxRelay, Settings

Json = dict[str, Any]
expected = {"expected_exceptions": ServiceError}


class NotificationsService(HealthCheck):
    """Owns the deliveries (one row per email: recipient, template context with a secret link
    still sealed, attempts, SMTP result) and the suppression list. Turns events into queued emails
    (invitations, password resets, maintenance status changes for the tenants); the asyncio
    process `notifications.sender` sends them and records how it went."""

    name = "notifications"

    db = Database()
    # Publishes this service's events. The sender's results, written to the same outbox, leave
    # through the sender's own relay; this one publishes them only if they wait 5 s or more.
    relay = OutboxRelay(
        outbox,
        inbox,
        backup_for=(e.DeliverySucceeded.event_type, e.DeliveryFailed.event_type),
        backup_after_seconds=5.0,
    )
    remote = ServiceRpc()
    settings = Settings()

    @batch_event_handler(t.INVITATION_SENT)
    def on_invitation_sent(self, payloads: list[Json]) -> None:
        events = [parse(e.InvitationSent, payload) for payload in payloads]
        handlers.queue_invitations(self.db, self.settings.link_sealer, events, t.INVITATION_SENT.inbox_key)

    @event_handler(t.PASSWORD_RESET_REQUESTED)
    def on_password_reset_requested(self, payload: Json) -> None:
        event = parse(e.PasswordResetRequested, payload)
        handlers.queue_password_reset(
            self.db, self.settings.link_sealer, event, t.PASSWORD_RESET_REQUESTED.inbox_key
        )

    @event_handler(t.MAINTENANCE_REQUEST_UPDATED)
    def on_maintenance_request_updated(self, payload: Json) -> None:
        event = parse(e.MaintenanceRequestUpdated, payload)
        handlers.tell_tenants_of_maintenance_update(
            self.db, self.remote, self.settings, event, t.MAINTENANCE_REQUEST_UPDATED.inbox_key
        )

    @rpc(**expected)
    def list_deliveries(self, payload: Json) -> Json:
        return handlers.list_deliveries(self.db, parse(n.ListDeliveries, payload)).model_dump(mode="json")
