"""Defects staff record on a property, on the real PostgreSQL and RabbitMQ: recorded on a site
with no lease, listed (open first, or by status), resolved and reopened; any other move is refused
with what is allowed and changes nothing; another organization finds nothing. A customer of the
property's client group reads its open defects, then its resolved ones, and the dashboard counts
the open ones; another group's customer gets NotFound."""

from datetime import timedelta

import pytest

from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import Conflict, InvalidInput, NotFound
from shared.testing.helpers import random_name

OPEN, RESOLVED = p.DefectStatus.OPEN, p.DefectStatus.RESOLVED


def new_group(make):
    return make.call(
        c.CREATE_CLIENT_GROUP, c.CreateClientGroup(actor=make.actor(), name=random_name("Group "))
    )


def authorise(make, group, contact):
    make.call(
        c.ADD_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(actor=make.actor(), client_group_id=group.id, contact_id=contact.id),
    )


def site(make, group=None, name=None):
    """A property with one unit and no lease, in `group`."""
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
    make.call(p.ADD_UNIT, p.AddUnit(actor=make.actor(), property_id=prop.id, name="Unit 1"))
    if group is not None:
        prop = make.call(
            p.ASSIGN_CLIENT_GROUP,
            p.AssignClientGroup(actor=make.actor(), property_id=prop.id, client_group_id=group.id),
        )
    return prop, None


def portfolio(make, contact):
    return make.call(
        p.GET_CUSTOMER_PORTFOLIO,
        p.GetCustomerPortfolio(organization_id=make.organization_id, contact_id=contact.id),
    )


def customer_property(make, contact, prop):
    return make.call(
        p.GET_CUSTOMER_PROPERTY,
        p.GetCustomerProperty(
            organization_id=make.organization_id, contact_id=contact.id, property_id=prop.id
        ),
    )


def record(make, prop, title="Cracked fire door glass", severity=p.DefectSeverity.HIGH, **fields):
    return make.call(
        p.RECORD_DEFECT,
        p.RecordDefect(
            actor=make.actor(),
            property_id=prop.id,
            title=title,
            description=fields.pop("description", "The wired glass in the east stair door is cracked."),
            severity=severity,
            **fields,
        ),
    )


def set_status(make, defect, status):
    return make.call(
        p.SET_DEFECT_STATUS, p.SetDefectStatus(actor=make.actor(), defect_id=defect.id, status=status)
    )


def listed(make, prop, status=None):
    return make.call(
        p.LIST_PROPERTY_DEFECTS,
        p.ListPropertyDefects(organization_id=make.organization_id, property_id=prop.id, status=status),
    ).items


def test_staff_record_a_defect_on_a_site_without_a_lease(make):
    prop, _ = site(make)
    today = utc_now().date()
    defect = record(make, prop, found_on=today - timedelta(days=3))
    assert (defect.property_id, defect.status, defect.severity) == (prop.id, OPEN, p.DefectSeverity.HIGH)
    assert defect.found_on == today - timedelta(days=3) and defect.resolved_at is None
    assert defect.created_by_staff_member_id == make.actor().staff_member_id
    # Found today when not said.
    later = record(make, prop, "Loose handrail", p.DefectSeverity.LOW)
    assert later.found_on == today
    assert [x.id for x in listed(make, prop)] == [later.id, defect.id]


def test_a_defect_is_not_found_in_the_future_and_nothing_is_recorded(make):
    prop, _ = site(make)
    with pytest.raises(InvalidInput) as refused:
        record(make, prop, found_on=utc_now().date() + timedelta(days=2))
    assert refused.value.details["errors"][0]["field"] == "found_on"
    assert listed(make, prop) == []


def test_a_defect_is_resolved_reopened_and_listed_by_status(make):
    prop, _ = site(make)
    leak = record(make, prop, "Roof leak over bay 3", p.DefectSeverity.CRITICAL)
    rail = record(make, prop, "Loose handrail", p.DefectSeverity.LOW)
    resolved = set_status(make, leak, RESOLVED)
    assert resolved.status == RESOLVED and resolved.resolved_at is not None
    # Open ones first.
    assert [x.id for x in listed(make, prop)] == [rail.id, leak.id]
    assert [x.id for x in listed(make, prop, OPEN)] == [rail.id]
    assert [x.id for x in listed(make, prop, RESOLVED)] == [leak.id]
    reopened = set_status(make, leak, OPEN)
    assert reopened.status == OPEN and reopened.resolved_at is None
    assert listed(make, prop, RESOLVED) == []


@pytest.mark.parametrize("status", [OPEN, RESOLVED])
def test_a_defect_cannot_move_to_where_it_is_and_nothing_changes(make, status):
    prop, _ = site(make)
    defect = record(make, prop)
    if status == RESOLVED:
        defect = set_status(make, defect, RESOLVED)
    with pytest.raises(Conflict) as refused:
        set_status(make, defect, status)
    other = RESOLVED if status == OPEN else OPEN
    assert refused.value.details == {"status": status.value, "allowed": [other.value]}
    (after,) = listed(make, prop)
    assert after == defect


def test_another_organization_finds_no_property_and_no_defect(make, make_other):
    prop, _ = site(make)
    defect = record(make, prop)
    with pytest.raises(NotFound):
        record(make_other, prop)
    with pytest.raises(NotFound):
        listed(make_other, prop)
    with pytest.raises(NotFound):
        set_status(make_other, defect, RESOLVED)
    (still,) = listed(make, prop)
    assert still.status == OPEN


def test_a_customer_reads_open_then_resolved_defects_and_the_open_count(make):
    group = new_group(make)
    other_group = new_group(make)
    prop, _ = site(make, group, "A Depot")
    quiet, _ = site(make, group, "B Quiet site")
    elsewhere, _ = site(make, other_group, "C Elsewhere")
    record(make, elsewhere, "Not theirs")
    cara = make.contact(ContactType.CUSTOMER)
    authorise(make, group, cara)
    today = utc_now().date()
    older = record(make, prop, "Roof leak", p.DefectSeverity.CRITICAL, found_on=today - timedelta(days=9))
    newer = record(make, prop, "Loose handrail", p.DefectSeverity.LOW, found_on=today - timedelta(days=1))
    fixed = record(make, prop, "Blocked gully", p.DefectSeverity.MEDIUM)
    set_status(make, fixed, RESOLVED)

    page = customer_property(make, cara, prop)
    assert [x.title for x in page.open_defects] == ["Loose handrail", "Roof leak"]
    assert [x.id for x in page.open_defects] == [newer.id, older.id]
    assert page.open_defects[1].severity == p.DefectSeverity.CRITICAL
    assert page.open_defects[1].description == older.description
    assert [x.title for x in page.resolved_defects] == ["Blocked gully"]
    assert page.property.open_defects == 2
    # No lease, so no requests: the defects are what the page shows.
    assert page.requests == [] and page.property.open_requests == 0
    counts = {x.property_name: x.open_defects for x in portfolio(make, cara).properties}
    assert counts == {"A Depot": 2, "B Quiet site": 0}
    assert customer_property(make, cara, quiet).open_defects == []

    # Resolved, it moves to the resolved list and out of the count; reopened, it comes back.
    set_status(make, older, RESOLVED)
    page = customer_property(make, cara, prop)
    assert [x.title for x in page.open_defects] == ["Loose handrail"]
    assert [x.title for x in page.resolved_defects] == ["Roof leak", "Blocked gully"]
    assert portfolio(make, cara).properties[0].open_defects == 1

    # Another group's property stays NotFound, defects or not.
    with pytest.raises(NotFound):
        customer_property(make, cara, elsewhere)
