"""Customers' portfolios (Uptick) through the properties service's entrypoints, with the contacts
service that owns client groups, on the real PostgreSQL and RabbitMQ: which properties a customer
sees, a 404 for any other, and the dashboard's figures."""

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import text

from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import NotFound
from shared.testing.helpers import random_name


def new_group(make, parent=None, name=None):
    return make.call(
        c.CREATE_CLIENT_GROUP,
        c.CreateClientGroup(
            actor=make.actor(), name=name or random_name("Group "), parent_id=parent.id if parent else None
        ),
    )


def authorise(make, group, contact):
    make.call(
        c.ADD_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(actor=make.actor(), client_group_id=group.id, contact_id=contact.id),
    )


def site(make, group=None, name=None):
    """A property (with one unit) in `group`."""
    prop = make.call(
        p.CREATE_PROPERTY,
        p.CreateProperty(
            actor=make.actor(),
            property=p.NewProperty(
                name=name or random_name("Site "),
                address_line1="1 Dock Road",
                city="Hull",
                postcode="HU1 1AA",
            ),
        ),
    )
    unit = make.call(p.ADD_UNIT, p.AddUnit(actor=make.actor(), property_id=prop.id, name="Unit 1"))
    if group is not None:
        prop = make.call(
            p.ASSIGN_CLIENT_GROUP,
            p.AssignClientGroup(actor=make.actor(), property_id=prop.id, client_group_id=group.id),
        )
    return prop, unit


def lease_on(make, unit):
    tenant = make.contact(ContactType.TENANT)
    lease = make.call(
        p.CREATE_LEASE,
        p.CreateLease(
            actor=make.actor(), unit_id=unit.id, start_date=date(2020, 1, 1), tenant_contact_ids=[tenant.id]
        ),
    )
    return tenant, lease


def report(make, tenant, lease, description="The fire door does not close"):
    return make.call(
        p.CREATE_MAINTENANCE_REQUEST,
        p.CreateMaintenanceRequest(
            organization_id=make.organization_id,
            contact_id=tenant.id,
            lease_id=lease.id,
            category=p.MaintenanceCategory.STRUCTURAL,
            description=description,
        ),
    )


def move_on(make, request, status):
    make.call(
        p.UPDATE_MAINTENANCE_STATUS,
        p.UpdateMaintenanceStatus(actor=make.actor(), request_id=request.id, status=status),
    )


def portfolio(make, contact, group=None):
    return make.call(
        p.GET_CUSTOMER_PORTFOLIO,
        p.GetCustomerPortfolio(
            organization_id=make.organization_id,
            contact_id=contact.id,
            client_group_id=group.id if group else None,
        ),
    )


def customer_property(make, contact, prop):
    return make.call(
        p.GET_CUSTOMER_PROPERTY,
        p.GetCustomerProperty(
            organization_id=make.organization_id, contact_id=contact.id, property_id=prop.id
        ),
    )


def test_a_parent_groups_account_sees_the_properties_of_every_group_below(make):
    top = new_group(make, name=random_name("Acme "))
    north = new_group(make, top, random_name("Acme North "))
    leeds = new_group(make, north, random_name("Acme Leeds "))
    sibling = new_group(make, name=random_name("Other "))
    head_office, _ = site(make, top, "A Head office")
    depot, _ = site(make, north, "B Depot")
    warehouse, _ = site(make, leeds, "C Warehouse")
    elsewhere, _ = site(make, sibling, "D Elsewhere")
    site(make, None, "E Not in a group")
    cara = make.contact(ContactType.CUSTOMER)
    authorise(make, top, cara)

    shown = portfolio(make, cara)
    assert shown.current.client_group_id == top.id
    assert [x.property_id for x in shown.properties] == [head_office.id, depot.id, warehouse.id]
    assert [x.client_group_name for x in shown.properties] == [top.name, north.name, leeds.name]
    assert [g.client_group_id for g in shown.groups] == [top.id, north.id, leeds.id]
    assert customer_property(make, cara, warehouse).property.property_name == "C Warehouse"
    # Another group's property is not found, as if it did not exist; so is one in no group.
    with pytest.raises(NotFound):
        customer_property(make, cara, elsewhere)
    # An account of the child group sees only its part of the tree.
    dev = make.contact(ContactType.CUSTOMER)
    authorise(make, north, dev)
    assert [x.property_id for x in portfolio(make, dev).properties] == [depot.id, warehouse.id]
    with pytest.raises(NotFound):
        customer_property(make, dev, head_office)
    # Nor can they ask for a portfolio they are not authorised on.
    with pytest.raises(NotFound):
        portfolio(make, dev, top)


def test_several_portfolios_are_switched_between(make):
    first = new_group(make, name=random_name("A first "))
    second = new_group(make, name=random_name("B second "))
    one, _ = site(make, first)
    two, _ = site(make, second)
    cara = make.contact(ContactType.CUSTOMER)
    authorise(make, first, cara)
    authorise(make, second, cara)

    default = portfolio(make, cara)
    assert [x.client_group_id for x in default.portfolios] == [first.id, second.id]
    assert [x.property_id for x in default.properties] == [one.id]
    assert [x.property_id for x in portfolio(make, cara, second).properties] == [two.id]
    # Either portfolio's property page opens.
    assert customer_property(make, cara, two).property.client_group_id == second.id


def test_a_customer_on_no_group_sees_nothing_and_a_removed_account_loses_access(make):
    group = new_group(make)
    prop, _ = site(make, group)
    cara = make.contact(ContactType.CUSTOMER)
    empty = portfolio(make, cara)
    assert (empty.current, empty.properties, empty.portfolios) == (None, [], [])
    assert [x.count for x in empty.requests_by_month] == [0] * 12

    authorise(make, group, cara)
    assert customer_property(make, cara, prop).property.property_id == prop.id
    make.call(
        c.REMOVE_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(actor=make.actor(), client_group_id=group.id, contact_id=cara.id),
    )
    with pytest.raises(NotFound):
        customer_property(make, cara, prop)


def test_another_organizations_customer_and_group_are_not_found(make, make_other):
    group = new_group(make)
    prop, _ = site(make, group)
    theirs = make_other.contact(ContactType.CUSTOMER)
    their_group = new_group(make_other)
    authorise(make_other, their_group, theirs)
    # Their contact asking through our organization, and our property through theirs.
    assert portfolio(make, theirs).properties == []
    with pytest.raises(NotFound):
        customer_property(make, theirs, prop)
    with pytest.raises(NotFound):
        make_other.call(
            p.GET_CUSTOMER_PROPERTY,
            p.GetCustomerProperty(
                organization_id=make_other.organization_id, contact_id=theirs.id, property_id=prop.id
            ),
        )
    # A property cannot be put in another organization's group.
    with pytest.raises(NotFound):
        make.call(
            p.ASSIGN_CLIENT_GROUP,
            p.AssignClientGroup(actor=make.actor(), property_id=prop.id, client_group_id=their_group.id),
        )
    got = make.call(p.GET_PROPERTY, p.GetProperty(organization_id=make.organization_id, property_id=prop.id))
    assert got.client_group_id == group.id


def group_properties(make, group_id):
    return make.call(
        p.LIST_CLIENT_GROUP_PROPERTIES,
        p.ListClientGroupProperties(organization_id=make.organization_id, client_group_id=group_id),
    ).items


def test_listing_the_properties_of_a_client_group_the_organization_does_not_have_is_refused(make, make_other):
    ours, empty, theirs = new_group(make), new_group(make), new_group(make_other)
    prop, _ = site(make, ours)
    their_prop, _ = site(make_other, theirs)
    for group_id in (uuid4(), theirs.id):
        with pytest.raises(NotFound, match="no such client group"):
            group_properties(make, group_id)
    assert [x.id for x in group_properties(make, ours.id)] == [prop.id]
    assert group_properties(make, empty.id) == []
    assert [x.id for x in group_properties(make_other, theirs.id)] == [their_prop.id]


def test_the_dashboard_figures_count_the_portfolios_requests(make, infra):
    top = new_group(make)
    child = new_group(make, top)
    outside = new_group(make)
    prop_a, unit_a = site(make, top, "A")
    prop_b, unit_b = site(make, child, "B")
    _, unit_c = site(make, outside, "C")
    tenant_a, lease_a = lease_on(make, unit_a)
    tenant_b, lease_b = lease_on(make, unit_b)
    tenant_c, lease_c = lease_on(make, unit_c)

    # On A: two submitted, one scheduled, one completed. On B: one in progress, one cancelled.
    _a1, a2, a3, a4 = (report(make, tenant_a, lease_a) for _ in range(4))
    move_on(make, a3, p.MaintenanceStatus.SCHEDULED)
    move_on(make, a4, p.MaintenanceStatus.COMPLETED)
    b1, b2 = report(make, tenant_b, lease_b), report(make, tenant_b, lease_b)
    move_on(make, b1, p.MaintenanceStatus.IN_PROGRESS)
    move_on(make, b2, p.MaintenanceStatus.CANCELLED)
    report(make, tenant_c, lease_c)  # outside the portfolio: counted nowhere

    # Dated back: a2 two months ago, b2 eleven months ago (the oldest month shown), a4 a year ago
    # (too old for the chart).
    today = datetime.now(UTC).date()
    months = [
        date(today.year + (today.month - k - 1) // 12, (today.month - k - 1) % 12 + 1, 1) for k in range(13)
    ]
    with infra.engine.begin() as connection:
        for request, month in ((a2, months[2]), (b2, months[11]), (a4, months[12])):
            connection.execute(
                text("UPDATE properties.maintenance_requests SET created_at = :at WHERE id = :id"),
                {
                    "at": datetime.combine(month, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12),
                    "id": request.id,
                },
            )

    cara = make.contact(ContactType.CUSTOMER)
    authorise(make, top, cara)
    shown = portfolio(make, cara)
    assert {x.property_id: x.open_requests for x in shown.properties} == {prop_a.id: 3, prop_b.id: 1}
    assert [(x.status.value, x.count) for x in shown.open_by_status] == [
        ("submitted", 2),
        ("acknowledged", 0),
        ("scheduled", 1),
        ("in_progress", 1),
    ]
    by_month = {x.month: x.count for x in shown.requests_by_month}
    assert list(by_month) == months[:12][::-1]
    assert by_month[months[0]] == 3  # _a1, a3, b1
    assert by_month[months[2]] == 1  # a2
    assert by_month[months[11]] == 1  # b2
    assert sum(by_month.values()) == 5  # a4 is older than a year

    page = customer_property(make, cara, prop_b)
    assert [x.id for x in page.requests] == [b1.id, b2.id]
    assert page.property.open_requests == 1
