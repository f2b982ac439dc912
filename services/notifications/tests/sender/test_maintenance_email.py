"""A maintenance update's email through the real sender to a real SMTP sink: its link is the
portal page as stored, with nothing to unseal and no expiry."""

import uuid

from sqlalchemy.orm import Session

from notifications import domain, handlers
from shared.contracts import events as e
from shared.testing.helpers import random_email


def maintenance_event(**fields) -> e.MaintenanceRequestUpdated:
    return e.MaintenanceRequestUpdated(
        **{
            "organization_id": uuid.uuid4(),
            "request_id": uuid.uuid4(),
            "lease_id": uuid.uuid4(),
            "unit_name": "Flat 2",
            "property_name": "Maple & Court",
            "tenant_contact_ids": [uuid.uuid4()],
            "submitted_by_contact_id": uuid.uuid4(),
            "category": "heating",
            "priority": "urgent",
            "previous_status": "submitted",
            "status": "in_progress",
            "note": "The engineer needs a <part>; back on Monday.",
            "changed_by_staff_member_id": uuid.uuid4(),
            **fields,
        }
    )


def test_a_maintenance_update_arrives_with_the_plain_link_and_the_new_status(
    settings, deliveries, running_sender, sink_client, events, caplog
):
    event = maintenance_event()
    tenant = domain.Recipient(
        contact_id=event.tenant_contact_ids[0],
        email=random_email("tenant"),
        name="Tess Tenant",
        locale="en-GB",
    )
    link = f"https://portal.example.com/portal/maintenance/{event.request_id}"
    with Session(deliveries.engine) as session:
        handlers.queue_maintenance_update(
            session, event, handlers.MaintenanceRecipients("Acme Lettings", [tenant]), link, "test"
        )
    row = deliveries.execute(
        "SELECT * FROM notifications.deliveries WHERE subject_id = :id", id=event.request_id
    ).one()
    assert "sealed_link" not in row.context and "expires_at" not in row.context

    with running_sender(settings):
        done = deliveries.wait_status(row.id, "sent")
        _, payload = events.until(
            lambda kind, p: kind == "delivery_succeeded" and p["delivery_id"] == str(row.id)
        )

    [email] = sink_client.messages(to=tenant.email)
    assert email["subject"] == "Your heating request at Flat 2, Maple & Court is now in progress"
    assert "Hello Tess Tenant" in email["text"]
    assert "Status: Submitted -> In progress" in email["text"]
    assert "The engineer needs a <part>; back on Monday." in email["text"]
    assert link in email["text"]
    assert f'<a href="{link}"' in email["html"]
    assert "The engineer needs a &lt;part&gt;; back on Monday." in email["html"]
    assert "Maple &amp; Court" in email["html"]
    assert "expires" not in email["text"]
    assert email["links"] == [link]
    assert done.attempts == 1
    assert (payload["purpose"], payload["subject_id"]) == ("maintenance_update", str(event.request_id))
