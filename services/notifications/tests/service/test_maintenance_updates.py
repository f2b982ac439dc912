"""Maintenance status emails: notifications consumes `maintenance_request_updated` from the real
properties service and asks the real contacts and invitations services who should hear of it, on
the real PostgreSQL and RabbitMQ."""

import json
import uuid
from datetime import date, timedelta

import eventlet
import pytest
from kombu import Connection
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import text

from contacts.service import ContactsService
from contacts.settings import ContactsSettings
from invitations.service import InvitationsService
from invitations.settings import InvitationsSettings
from notifications.service import NotificationsService
from properties.service import PropertiesService
from properties.settings import PropertiesSettings
from shared.contracts import contacts as c
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.testing.helpers import (
    ADMIN_PASSWORD,
    actor,
    hook_caller,
    owner_dispatcher,
    random_email,
    random_name,
)
from shared.topology import Subscription

PASSWORD = "amber kettles hum quietly"
HANDLER = "on_maintenance_request_updated"


class Agency:
    """contacts, properties and invitations running beside notifications, with one organization,
    a lease with two tenants (one has portal access, one was invited and never accepted) and a
    request of the first."""

    def __init__(self, container_factory, infra, notifications):
        overrides = infra.settings_overrides()
        self.invitations_settings = InvitationsSettings(**overrides, resend_cooldown_seconds=0)
        self.containers = {"notifications": notifications}
        for cls, settings in (
            (ContactsService, ContactsSettings(**overrides)),
            (PropertiesService, PropertiesSettings(**overrides)),
            (InvitationsService, self.invitations_settings),
        ):
            container = container_factory(cls, settings.nameko_config())
            container.start()
            self.containers[cls.name] = container
        self.contacts = hook_caller(self.containers["contacts"])
        self.properties = hook_caller(self.containers["properties"])
        self.invitations = hook_caller(self.containers["invitations"])
        self.engine = infra.engine
        self.org = self.contacts(
            c.CREATE_ORGANIZATION,
            c.CreateOrganization(
                name=random_name("Lettings "),
                admin_email=random_email("admin"),
                admin_name="Ada Admin",
                admin_password=ADMIN_PASSWORD,
            ),
        )
        self.actor = actor(self.org)
        self.with_access = self.tenant("Tess")
        self.invited_only = self.tenant("Theo")
        prop = self.properties(
            p.CREATE_PROPERTY,
            p.CreateProperty(
                actor=self.actor,
                property=p.NewProperty(
                    name=random_name("Maple Court "),
                    address_line1="12 Maple Road",
                    city="London",
                    postcode="N1 7AA",
                ),
            ),
        )
        self.property_name = prop.name
        unit = self.properties(p.ADD_UNIT, p.AddUnit(actor=self.actor, property_id=prop.id, name="Flat 2"))
        self.lease = self.properties(
            p.CREATE_LEASE,
            p.CreateLease(
                actor=self.actor,
                unit_id=unit.id,
                start_date=date.today() - timedelta(days=30),
                tenant_contact_ids=[self.with_access.id, self.invited_only.id],
            ),
        )
        self.accept(self.invite(self.with_access))
        self.invite(self.invited_only)

    def tenant(self, first_name):
        return self.contacts(
            c.CREATE_CONTACT,
            c.CreateContact(
                actor=self.actor,
                contact=c.NewContact(
                    type=ContactType.TENANT,
                    first_name=first_name,
                    last_name=random_name("Tenant"),
                    email=random_email(first_name.lower()),
                ),
            ),
        )

    def invite(self, contact, resend=False):
        """Send (or resend) an invitation; its token, read from the invitations outbox and unsealed."""
        method = i.RESEND_INVITATION if resend else i.SEND_INVITATION
        view = self.invitations(method, i.SendInvitation(actor=self.actor, contact_id=contact.id))
        with self.engine.connect() as conn:
            sealed = conn.execute(
                text(
                    "SELECT payload->>'sealed_link' FROM invitations.outbox "
                    "WHERE event_type = 'invitation_sent' AND payload->>'invitation_id' = :id"
                ),
                {"id": str(view.id)},
            ).scalar_one()
        return self.invitations_settings.link_sealer.open(sealed).link.rsplit("/", 1)[1]

    def accept(self, token):
        self.invitations(
            i.ACCEPT_INVITATION,
            i.AcceptInvitation(token=token, password=PASSWORD, password_confirmation=PASSWORD),
        )

    def submit(self, contact):
        """A request made from the portal; returns it once notifications has handled its event."""
        with entrypoint_waiter(self.containers["notifications"], HANDLER, timeout=15):
            return self.properties(
                p.CREATE_MAINTENANCE_REQUEST,
                p.CreateMaintenanceRequest(
                    organization_id=self.org.organization.id,
                    contact_id=contact.id,
                    lease_id=self.lease.id,
                    category=p.MaintenanceCategory.HEATING,
                    description="No hot water since this morning.",
                ),
            )

    def move(self, request_id, status, note=None):
        """Staff change the status; returns once notifications has handled the change."""
        with entrypoint_waiter(self.containers["notifications"], HANDLER, timeout=15):
            return self.properties(
                p.UPDATE_MAINTENANCE_STATUS,
                p.UpdateMaintenanceStatus(actor=self.actor, request_id=request_id, status=status, note=note),
            )

    def event_of(self, request_id, status):
        """The `maintenance_request_updated` event properties recorded for that status."""
        with self.engine.connect() as conn:
            payload = conn.execute(
                text(
                    "SELECT payload FROM properties.outbox WHERE event_type = 'maintenance_request_updated' "
                    "AND payload->>'request_id' = :id AND payload->>'status' = :status"
                ),
                {"id": str(request_id), "status": status},
            ).scalar_one()
        return payload


def deliveries_for(infra, request_id):
    with infra.engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM notifications.deliveries WHERE subject_id = :id ORDER BY created_at"),
            {"id": request_id},
        ).all()


@pytest.fixture
def agency(container_factory, infra, notifications):
    return Agency(container_factory, infra, notifications)


def test_a_status_change_queues_one_email_for_each_tenant_with_portal_access(agency, infra):
    request = agency.submit(agency.with_access)
    assert deliveries_for(infra, request.id) == []  # the submission itself is not emailed

    agency.move(request.id, p.MaintenanceStatus.SCHEDULED, note="An engineer comes <tomorrow> at 10.")

    # Theo is on the lease too, but never accepted his invitation: no portal, no email.
    [row] = deliveries_for(infra, request.id)
    event = agency.event_of(request.id, "scheduled")
    assert row.purpose == "maintenance_update"
    assert row.status == "queued"
    assert row.recipient == agency.with_access.email
    assert row.organization_id == agency.org.organization.id
    assert row.idempotency_key == f"{event['event_id']}:maintenance_update:{agency.with_access.id}"
    assert row.context == {
        "recipient_name": agency.with_access.display_name,
        "organization_name": agency.org.organization.name,
        "unit_name": "Flat 2",
        "property_name": agency.property_name,
        "category": "heating",
        "previous_status": "submitted",
        "status": "scheduled",
        "note": "An engineer comes <tomorrow> at 10.",
        # An ordinary link to the portal page: nothing sealed, nothing that expires.
        "link": f"http://localhost:8000/portal/maintenance/{request.id}",
    }
    with infra.engine.connect() as conn:
        queued = conn.execute(
            text(
                "SELECT payload FROM notifications.outbox "
                "WHERE event_type = 'delivery_queued' AND payload->>'delivery_id' = :id"
            ),
            {"id": str(row.id)},
        ).scalar_one()
    assert (queued["purpose"], queued["subject_id"]) == ("maintenance_update", str(request.id))


def test_once_both_tenants_have_access_each_gets_one_email_and_a_repeated_event_queues_nothing(agency, infra):
    agency.accept(agency.invite(agency.invited_only, resend=True))
    request = agency.submit(agency.invited_only)

    agency.move(request.id, p.MaintenanceStatus.ACKNOWLEDGED)

    rows = deliveries_for(infra, request.id)
    assert sorted(row.recipient for row in rows) == sorted(
        [agency.with_access.email, agency.invited_only.email]
    )
    assert {row.context["note"] for row in rows} == {None}
    # The same event again (a redelivery after a crash, say): nothing more is queued.
    with entrypoint_hook(agency.containers["notifications"], HANDLER) as handle:
        handle(agency.event_of(request.id, "acknowledged"))
    assert len(deliveries_for(infra, request.id)) == 2

    agency.move(request.id, p.MaintenanceStatus.COMPLETED)
    assert len(deliveries_for(infra, request.id)) == 4  # a new change is a new email each


def test_a_tenant_whose_access_was_revoked_hears_nothing(agency, infra):
    request = agency.submit(agency.with_access)
    agency.invitations(i.REVOKE_ACCESS, i.RevokeAccess(actor=agency.actor, contact_id=agency.with_access.id))

    agency.move(request.id, p.MaintenanceStatus.CANCELLED)

    assert deliveries_for(infra, request.id) == []


def test_when_contacts_cannot_answer_the_event_is_retried_then_parked_and_nothing_is_queued(
    container_factory, settings, infra
):
    # Only notifications runs: asking contacts fails (no such service, or nobody answers within
    # the timeout), every time.
    quick = settings.model_copy(update={"rpc_timeout_seconds": 0.5})
    container_factory(NotificationsService, quick.nameko_config()).start()
    event = e.MaintenanceRequestUpdated(
        organization_id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        lease_id=uuid.uuid4(),
        unit_name="Flat 2",
        property_name="Maple Court",
        tenant_contact_ids=[uuid.uuid4()],
        submitted_by_contact_id=uuid.uuid4(),
        category="heating",
        priority="normal",
        previous_status="submitted",
        status="scheduled",
        note=None,
        changed_by_staff_member_id=uuid.uuid4(),
    )
    owner_dispatcher(settings.amqp_uri)(
        "properties", "maintenance_request_updated", event.model_dump(mode="json")
    )
    dead = Subscription("properties", "maintenance_request_updated", "notifications", HANDLER)

    with Connection(settings.amqp_uri) as conn, eventlet.Timeout(15):
        channel = conn.default_channel
        while (message := channel.basic_get(queue=dead.dead_letter_queue, no_ack=True)) is None:
            eventlet.sleep(0.05)
    assert json.loads(message.body)["event_id"] == str(event.event_id)
    assert message.headers["x-portal-error"].startswith(("ServiceUnavailable", "ServiceTimeout"))
    assert deliveries_for(infra, event.request_id) == []
