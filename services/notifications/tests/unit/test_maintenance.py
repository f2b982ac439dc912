"""Who hears of a maintenance request's new status, and what the email says."""

import uuid

from notifications import domain
from notifications.rendering import Templates, maintenance_values
from shared.contracts.notifications import DeliveryPurpose

A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def recipient(contact_id, email):
    return domain.Recipient(contact_id=contact_id, email=email, name="Name", locale="en")


def test_only_parties_with_portal_access_whom_contacts_knows_hear_of_it_once_each_in_lease_order():
    contacts = {A: recipient(A, "a@example.com"), B: recipient(B, "b@example.com")}
    chosen = domain.maintenance_recipients([B, A, C, B], contacts, with_access={A, B, C})
    assert [r.email for r in chosen] == ["b@example.com", "a@example.com"]  # C: unknown to contacts
    assert domain.maintenance_recipients([A, B], contacts, with_access={B}) == [contacts[B]]
    assert domain.maintenance_recipients([A, B], contacts, with_access=set()) == []


def test_the_submission_is_not_emailed_a_change_is():
    assert not domain.tells_tenants(None)
    assert domain.tells_tenants("submitted")


def test_one_email_per_event_purpose_and_recipient():
    event_id = uuid.uuid4()
    assert domain.idempotency_key(event_id, "invitation") == f"{event_id}:invitation"
    keys = {domain.idempotency_key(event_id, DeliveryPurpose.MAINTENANCE_UPDATE, who) for who in (A, B, A)}
    assert keys == {f"{event_id}:maintenance_update:{A}", f"{event_id}:maintenance_update:{B}"}


def context(**overrides):
    return {
        "recipient_name": "Tess <Tenant>",
        "organization_name": "Acme & Sons",
        "unit_name": "Flat 2",
        "property_name": "Maple Court",
        "category": "pests",
        "previous_status": "acknowledged",
        "status": "cancelled",
        "note": None,
        "link": "https://portal.example.com/portal/maintenance/42?a=1&b=2",
        **overrides,
    }


def test_the_email_names_the_request_the_old_and_new_status_and_links_to_its_page_escaped_in_html():
    email_ = Templates().render("maintenance_update", "en-GB", maintenance_values(context()))
    assert email_.subject == "Your pests request at Flat 2, Maple Court is now cancelled"
    assert "Hello Tess <Tenant>," in email_.text
    assert "Acme & Sons updated your maintenance request." in email_.text
    assert "Request: Pests at Flat 2, Maple Court" in email_.text
    assert "Status: Acknowledged -> Cancelled" in email_.text
    assert "A note for you" not in email_.text + email_.html
    assert "https://portal.example.com/portal/maintenance/42?a=1&b=2" in email_.text
    assert "Hello Tess &lt;Tenant&gt;," in email_.html
    assert "<strong>Acme &amp; Sons</strong>" in email_.html
    assert 'href="https://portal.example.com/portal/maintenance/42?a=1&amp;b=2"' in email_.html
    assert "Acknowledged &rarr; <strong>Cancelled</strong>" in email_.html


def test_a_note_is_shown_escaped_and_an_unknown_status_as_it_came():
    values = maintenance_values(context(note="Call <me> & ask", status="on_hold", organization_name=None))
    email_ = Templates().render("maintenance_update", "fr", values)
    assert "Your maintenance request was updated." in email_.text
    assert "A note for you:\nCall <me> & ask" in email_.text
    assert "Call &lt;me&gt; &amp; ask" in email_.html
    assert email_.subject.endswith("is now on hold")
