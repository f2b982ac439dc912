"""What properties announces for access to follow: a lease that has ended (`lease_ended`, once per
lease and end date, at once for a day already past, by the timer for a later one) and a removed
landlord or vendor link (`property_contact_unlinked`, with the staff RPC that removes it)."""

from datetime import timedelta

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from properties import lease_endings
from shared.contracts import properties as p
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import NotFound
from shared.testing.helpers import EventCollector, random_name

TODAY = utc_now().date()
YESTERDAY = TODAY - timedelta(days=1)


def announced(infra, event_type, key, value):
    """The payloads of `event_type` in the properties outbox whose `key` is `value`, oldest first."""
    with infra.engine.connect() as connection:
        return [
            row.payload
            for row in connection.execute(
                text(
                    "SELECT payload FROM properties.outbox WHERE event_type = :type "
                    "AND payload->>:key = :value ORDER BY id"
                ),
                {"type": event_type, "key": key, "value": str(value)},
            )
        ]


def end(make, lease, on):
    return make.call(p.END_LEASE, p.EndLease(actor=make.actor(), lease_id=lease.id, end_date=on))


def new_property(make):
    return make.call(
        p.CREATE_PROPERTY,
        p.CreateProperty(
            actor=make.actor(),
            property=p.NewProperty(
                name=random_name("House"), address_line1="2 Mill Road", city="Bath", postcode="BA1 1AA"
            ),
        ),
    )


def link(make, prop, contact, role=p.PropertyRole.LANDLORD):
    return make.call(
        p.LINK_CONTACT,
        p.LinkContact(actor=make.actor(), property_id=prop.id, contact_id=contact.id, role=role),
    )


def unlink(make, prop, contact):
    return make.call(
        p.UNLINK_CONTACT, p.UnlinkContact(actor=make.actor(), property_id=prop.id, contact_id=contact.id)
    )


def test_a_lease_ended_on_a_past_day_is_announced_at_once_and_once(make, settings, infra):
    first, second = make.contact(), make.contact()
    lease = make.lease([first, second], TODAY - timedelta(days=90))
    collector = EventCollector(settings.amqp_uri, "properties", ["lease_ended"])
    try:
        end(make, lease, YESTERDAY)
        end(make, lease, YESTERDAY)  # the same end again: nothing new to say

        _, published = collector.until(lambda kind, body: body["lease_id"] == str(lease.id))
    finally:
        collector.close()
    assert published == {
        **published,
        "organization_id": str(make.organization_id),
        "lease_id": str(lease.id),
        "property_id": str(lease.property_id),
        "unit_id": str(lease.unit_id),
        "tenant_contact_ids": sorted([str(first.id), str(second.id)]),
        "end_date": YESTERDAY.isoformat(),
        "event_id": str(lease_endings.lease_ended_event_id(lease.id, YESTERDAY)),
    }
    assert len(announced(infra, "lease_ended", "lease_id", lease.id)) == 1

    end(make, lease, TODAY - timedelta(days=2))  # staff correct the date: a new fact

    assert [e["end_date"] for e in announced(infra, "lease_ended", "lease_id", lease.id)] == [
        YESTERDAY.isoformat(),
        (TODAY - timedelta(days=2)).isoformat(),
    ]


def test_a_lease_ending_today_or_later_is_announced_the_day_after_its_end_date(make, infra):
    lease = make.lease([make.contact()], TODAY - timedelta(days=30))

    end(make, lease, TODAY)  # today is still the tenancy's last day
    eventlet.sleep(0.5)  # the timer sweeps every 0.2 s here

    assert announced(infra, "lease_ended", "lease_id", lease.id) == []
    # The sweep as it runs tomorrow, twice (as two instances of the service would).
    for _ in range(2):
        with Session(infra.engine) as session:
            lease_endings.announce_ended_leases(session, TODAY + timedelta(days=1), lookback_days=14)
    [event] = announced(infra, "lease_ended", "lease_id", lease.id)
    assert event["end_date"] == TODAY.isoformat()
    assert event["event_id"] == str(lease_endings.lease_ended_event_id(lease.id, TODAY))


def test_the_timer_announces_a_lease_whose_end_date_has_passed(make, infra):
    # Recorded after the fact (made with an end date already past), so nothing announced it yet.
    lease = make.lease([make.contact()], TODAY - timedelta(days=30), YESTERDAY)

    with eventlet.Timeout(10):
        while not announced(infra, "lease_ended", "lease_id", lease.id):
            eventlet.sleep(0.05)
    eventlet.sleep(0.5)  # more sweeps: still one

    [event] = announced(infra, "lease_ended", "lease_id", lease.id)
    assert event["end_date"] == YESTERDAY.isoformat()


def test_removing_a_link_is_announced_and_removing_it_again_is_not_found(make, settings, infra):
    prop = new_property(make)
    landlord = make.contact(ContactType.LANDLORD)
    link(make, prop, landlord)
    collector = EventCollector(settings.amqp_uri, "properties", ["property_contact_unlinked"])
    try:
        after = unlink(make, prop, landlord)
        _, published = collector.until(lambda kind, body: body["contact_id"] == str(landlord.id))
    finally:
        collector.close()

    assert after.contacts == []
    assert (published["organization_id"], published["property_id"], published["role"]) == (
        str(make.organization_id),
        str(prop.id),
        "landlord",
    )
    links = make.call(
        p.GET_CONTACT_LINKS, p.GetContactLinks(organization_id=make.organization_id, contact_id=landlord.id)
    )
    assert links.properties == [] and not links.has_active_property_link
    with pytest.raises(NotFound):
        unlink(make, prop, landlord)
    assert len(announced(infra, "property_contact_unlinked", "contact_id", landlord.id)) == 1


def test_removing_one_link_leaves_the_others(make):
    prop = new_property(make)
    landlord, vendor = make.contact(ContactType.LANDLORD), make.contact(ContactType.VENDOR)
    link(make, prop, landlord)
    link(make, prop, vendor, p.PropertyRole.VENDOR)

    after = unlink(make, prop, landlord)

    assert [(x.contact_id, x.role) for x in after.contacts] == [(vendor.id, p.PropertyRole.VENDOR)]


def test_another_organizations_link_cannot_be_removed(make, make_other, infra):
    prop = new_property(make)
    landlord = make.contact(ContactType.LANDLORD)
    link(make, prop, landlord)

    with pytest.raises(NotFound):
        unlink(make_other, prop, landlord)

    fetched = make.call(
        p.GET_PROPERTY, p.GetProperty(organization_id=make.organization_id, property_id=prop.id)
    )
    assert [x.contact_id for x in fetched.contacts] == [landlord.id]
    assert announced(infra, "property_contact_unlinked", "contact_id", landlord.id) == []
