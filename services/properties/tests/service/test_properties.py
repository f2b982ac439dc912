"""The properties service through its nameko entrypoints, on the real PostgreSQL and RabbitMQ, with
the real contacts service answering its questions about contacts."""

from datetime import date, timedelta

import pytest
from nameko.testing.services import entrypoint_hook

from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import InvalidInput, NotFound
from shared.testing.helpers import actor, random_email, random_name

TODAY = utc_now().date()


def new_contact(org, call, contact_type=ContactType.TENANT, **fields):
    values = {
        "type": contact_type,
        "first_name": contact_type.value.capitalize(),
        "last_name": random_name("Person"),
        "email": random_email(contact_type.value),
    }
    values.update(fields)
    return call(c.CREATE_CONTACT, c.CreateContact(actor=actor(org), contact=c.NewContact(**values)))


def new_property(org, call, **fields):
    values = {
        "name": random_name("House"),
        "address_line1": "1 High Street",
        "city": "Leeds",
        "postcode": "LS1 1AA",
    }
    values.update(fields)
    return call(p.CREATE_PROPERTY, p.CreateProperty(actor=actor(org), property=p.NewProperty(**values)))


def new_unit(org, call, prop, name=None):
    return call(
        p.ADD_UNIT, p.AddUnit(actor=actor(org), property_id=prop.id, name=name or random_name("Flat "))
    )


def new_lease(org, call, unit, tenants, start, end=None):
    return call(
        p.CREATE_LEASE,
        p.CreateLease(
            actor=actor(org),
            unit_id=unit.id,
            start_date=start,
            end_date=end,
            tenant_contact_ids=[tenant.id for tenant in tenants],
        ),
    )


def links_of(org, call, contact):
    return call(
        p.GET_CONTACT_LINKS,
        p.GetContactLinks(organization_id=org.organization.id, contact_id=contact.id),
    )


def link(org, call, prop, contact, role):
    return call(
        p.LINK_CONTACT,
        p.LinkContact(actor=actor(org), property_id=prop.id, contact_id=contact.id, role=role),
    )


def test_co_tenants_of_a_current_lease_see_it_active_with_names_and_address(call, org):
    prop = new_property(org, call, address_line2="Flat block B")
    unit = new_unit(org, call, prop, "Flat 2")
    first, second = new_contact(org, call), new_contact(org, call)

    lease = new_lease(org, call, unit, [first, second], TODAY - timedelta(days=30))

    assert lease.unit_id == unit.id and lease.property_id == prop.id
    assert lease.organization_id == org.organization.id
    assert set(lease.tenant_contact_ids) == {first.id, second.id}
    assert lease.end_date is None
    for tenant in (first, second):
        links = links_of(org, call, tenant)
        assert links.contact_id == tenant.id
        assert links.properties == []
        [seen] = links.leases
        assert seen.lease_id == lease.id
        assert seen.active and links.has_active_lease
        assert (seen.unit_id, seen.unit_name) == (unit.id, "Flat 2")
        assert (seen.property_id, seen.property_name) == (prop.id, prop.name)
        assert seen.address == "1 High Street, Flat block B, Leeds, LS1 1AA"
        assert seen.start_date == TODAY - timedelta(days=30)


def test_a_future_lease_and_an_ended_lease_are_inactive(call, org):
    prop = new_property(org, call)
    tenant = new_contact(org, call)
    future = new_lease(org, call, new_unit(org, call, prop), [tenant], TODAY + timedelta(days=10))
    ended = new_lease(
        org, call, new_unit(org, call, prop), [tenant], TODAY - timedelta(days=400), TODAY - timedelta(days=1)
    )

    links = links_of(org, call, tenant)

    assert {lease.lease_id: lease.active for lease in links.leases} == {future.id: False, ended.id: False}
    assert not links.has_active_lease


def test_ending_a_lease_today_keeps_it_active_until_tomorrow(call, org):
    tenant = new_contact(org, call)
    lease = new_lease(
        org, call, new_unit(org, call, new_property(org, call)), [tenant], TODAY - timedelta(days=5)
    )

    ended = call(p.END_LEASE, p.EndLease(actor=actor(org), lease_id=lease.id, end_date=TODAY))

    assert ended.end_date == TODAY
    assert ended.tenant_contact_ids == [tenant.id]
    assert links_of(org, call, tenant).leases[0].active
    call(
        p.END_LEASE,
        p.EndLease(actor=actor(org), lease_id=lease.id, end_date=TODAY - timedelta(days=1)),
    )
    assert not links_of(org, call, tenant).leases[0].active


def test_a_lease_cannot_end_before_it_starts(call, org):
    tenant = new_contact(org, call)
    start = TODAY - timedelta(days=5)
    lease = new_lease(org, call, new_unit(org, call, new_property(org, call)), [tenant], start)

    with pytest.raises(InvalidInput) as refused:
        call(
            p.END_LEASE,
            p.EndLease(actor=actor(org), lease_id=lease.id, end_date=start - timedelta(days=1)),
        )

    assert refused.value.details["errors"][0]["field"] == "end_date"
    assert "before it starts" in refused.value.message
    assert links_of(org, call, tenant).leases[0].end_date is None


def test_a_landlord_link_shows_for_the_landlord_and_linking_twice_changes_nothing(call, org):
    prop = new_property(org, call)
    landlord = new_contact(org, call, ContactType.LANDLORD)

    linked = link(org, call, prop, landlord, p.PropertyRole.LANDLORD)
    again = link(org, call, prop, landlord, p.PropertyRole.LANDLORD)

    assert [(x.contact_id, x.role) for x in linked.contacts] == [(landlord.id, p.PropertyRole.LANDLORD)]
    assert again.contacts == linked.contacts
    links = links_of(org, call, landlord)
    assert links.leases == []
    [seen] = links.properties
    assert (seen.property_id, seen.property_name, seen.role) == (prop.id, prop.name, p.PropertyRole.LANDLORD)
    assert seen.active and links.has_active_property_link
    assert seen.address == "1 High Street, Leeds, LS1 1AA"
    fetched = call(p.GET_PROPERTY, p.GetProperty(organization_id=org.organization.id, property_id=prop.id))
    assert fetched.contacts == linked.contacts


def test_a_vendor_is_linked_as_vendor(call, org):
    prop = new_property(org, call)
    vendor = new_contact(org, call, ContactType.VENDOR)

    linked = link(org, call, prop, vendor, p.PropertyRole.VENDOR)

    assert [(x.contact_id, x.role) for x in linked.contacts] == [(vendor.id, p.PropertyRole.VENDOR)]
    with pytest.raises(InvalidInput):
        link(org, call, prop, vendor, p.PropertyRole.LANDLORD)


def test_a_tenant_cannot_be_linked_as_landlord(call, org):
    prop = new_property(org, call)
    tenant = new_contact(org, call, first_name="Tess", last_name=random_name("Tenant"))

    with pytest.raises(InvalidInput) as refused:
        link(org, call, prop, tenant, p.PropertyRole.LANDLORD)

    assert tenant.display_name in refused.value.message
    assert "tenant contact" in refused.value.message
    assert refused.value.details["errors"][0]["field"] == "contact_id"
    assert links_of(org, call, tenant).properties == []


def test_a_landlord_cannot_be_a_lease_tenant(call, org):
    unit = new_unit(org, call, new_property(org, call))
    tenant = new_contact(org, call)
    landlord = new_contact(org, call, ContactType.LANDLORD)

    with pytest.raises(InvalidInput) as refused:
        new_lease(org, call, unit, [tenant, landlord], TODAY)

    assert landlord.display_name in refused.value.message
    assert "landlord contact" in refused.value.message
    assert refused.value.details["errors"] == [
        {"field": "tenant_contact_ids.1", "message": refused.value.message}
    ]
    assert links_of(org, call, tenant).leases == []


def test_an_archived_contact_cannot_be_linked(call, org):
    unit = new_unit(org, call, new_property(org, call))
    tenant = new_contact(org, call)
    call(c.ARCHIVE_CONTACT, c.ArchiveContact(actor=actor(org), contact_id=tenant.id))

    with pytest.raises(InvalidInput) as refused:
        new_lease(org, call, unit, [tenant], TODAY)

    assert "archived" in refused.value.message
    assert tenant.display_name in refused.value.message


def test_a_contact_of_another_organization_cannot_be_put_on_a_lease(call, org, other_org):
    unit = new_unit(org, call, new_property(org, call))
    stranger = new_contact(other_org, call)

    with pytest.raises(NotFound):
        new_lease(org, call, unit, [new_contact(org, call), stranger], TODAY)
    stranger_landlord = new_contact(other_org, call, ContactType.LANDLORD)
    with pytest.raises(NotFound):
        link(org, call, new_property(org, call), stranger_landlord, p.PropertyRole.LANDLORD)

    assert links_of(org, call, stranger).leases == []
    assert links_of(other_org, call, stranger).leases == []


def test_another_organizations_property_unit_and_lease_are_not_found(call, org, other_org):
    prop = new_property(org, call)
    unit = new_unit(org, call, prop)
    tenant = new_contact(org, call)
    lease = new_lease(org, call, unit, [tenant], TODAY)
    other_tenant = new_contact(other_org, call)
    other_landlord = new_contact(other_org, call, ContactType.LANDLORD)

    with pytest.raises(NotFound):
        call(p.GET_PROPERTY, p.GetProperty(organization_id=other_org.organization.id, property_id=prop.id))
    with pytest.raises(NotFound):
        new_unit(other_org, call, prop)
    with pytest.raises(NotFound):
        new_lease(other_org, call, unit, [other_tenant], TODAY)
    with pytest.raises(NotFound):
        call(p.END_LEASE, p.EndLease(actor=actor(other_org), lease_id=lease.id, end_date=TODAY))
    with pytest.raises(NotFound):
        link(other_org, call, prop, other_landlord, p.PropertyRole.LANDLORD)
    listed = call(p.LIST_PROPERTIES, p.ListProperties(organization_id=other_org.organization.id))
    assert listed.total == 0 and listed.items == []
    assert (
        call(
            p.GET_CONTACT_LINKS,
            p.GetContactLinks(organization_id=other_org.organization.id, contact_id=tenant.id),
        ).leases
        == []
    )
    assert [lease.lease_id for lease in links_of(org, call, tenant).leases] == [lease.id]


def test_a_unit_name_is_unique_within_its_property(call, org):
    prop = new_property(org, call)
    new_unit(org, call, prop, "Flat 1")

    with pytest.raises(InvalidInput) as refused:
        new_unit(org, call, prop, "  flat   1 ")

    assert "Flat 1" in refused.value.message
    assert refused.value.details["errors"][0]["field"] == "name"
    other = new_unit(org, call, new_property(org, call), "Flat 1")
    assert other.name == "Flat 1"
    fetched = call(p.GET_PROPERTY, p.GetProperty(organization_id=org.organization.id, property_id=prop.id))
    assert [unit.name for unit in fetched.units] == ["Flat 1"]


def test_properties_are_listed_by_name_a_page_at_a_time(call, org):
    prefix = random_name("Street")
    for name in ("C", "A", "E", "B", "D"):
        new_property(org, call, name=f"{prefix} {name}")

    first = call(p.LIST_PROPERTIES, p.ListProperties(organization_id=org.organization.id, limit=2))
    third = call(p.LIST_PROPERTIES, p.ListProperties(organization_id=org.organization.id, limit=2, offset=4))

    assert (first.total, first.limit, first.offset) == (5, 2, 0)
    assert [item.name for item in first.items] == [f"{prefix} A", f"{prefix} B"]
    assert [item.name for item in third.items] == [f"{prefix} E"]
    assert third.total == 5


def test_a_lease_with_its_dates_out_of_order_is_refused_by_field(containers, org):
    with entrypoint_hook(containers["properties"], "create_lease") as hook:
        with pytest.raises(InvalidInput) as refused:
            hook(
                {
                    "actor": actor(org).model_dump(mode="json"),
                    "unit_id": "00000000-0000-0000-0000-000000000001",
                    "start_date": date(2025, 6, 1).isoformat(),
                    "end_date": date(2025, 5, 1).isoformat(),
                    "tenant_contact_ids": ["00000000-0000-0000-0000-000000000002"],
                }
            )

    assert "end_date must not be before start_date" in refused.value.details["errors"][0]["message"]
