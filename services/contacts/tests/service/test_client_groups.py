"""Client groups (Uptick) through the contacts service's entrypoints, on the real PostgreSQL and
RabbitMQ: parent groups in the same organization, no cycles, a depth limit, and the customer
contacts authorised on each group (their portfolios)."""

import pytest

from shared.contracts import contacts as c
from shared.contracts.common import ContactType, StaffRole
from shared.contracts.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shared.testing.helpers import ADMIN_PASSWORD, actor, random_email, random_name


def group(call, org, name=None, parent=None):
    return call(
        c.CREATE_CLIENT_GROUP,
        c.CreateClientGroup(
            actor=actor(org), name=name or random_name("Group "), parent_id=parent.id if parent else None
        ),
    )


def move(call, org, child, parent):
    return call(
        c.UPDATE_CLIENT_GROUP,
        c.UpdateClientGroup(
            actor=actor(org),
            client_group_id=child.id,
            changes=c.ClientGroupChanges(parent_id=parent.id if parent else None),
        ),
    )


def customer(call, org, contact_type=ContactType.CUSTOMER):
    return call(
        c.CREATE_CONTACT,
        c.CreateContact(
            actor=actor(org),
            contact=c.NewContact(
                type=contact_type,
                first_name="Cara",
                last_name=random_name("Customer"),
                email=random_email("customer"),
            ),
        ),
    )


def authorise(call, org, grp, contact):
    return call(
        c.ADD_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(actor=actor(org), client_group_id=grp.id, contact_id=contact.id),
    )


@pytest.fixture
def other_org(call):
    return call(
        c.CREATE_ORGANIZATION,
        c.CreateOrganization(
            name=random_name("Other"),
            admin_email=random_email("admin"),
            admin_name="Olu Other",
            admin_password=ADMIN_PASSWORD,
        ),
    )


def test_a_group_inside_a_parent_shows_where_it_sits(call, org):
    top = group(call, org, "Acme Holdings")
    middle = group(call, org, "Acme North", top)
    leaf = group(call, org, "Acme Leeds", middle)

    assert [
        child.name
        for child in call(
            c.GET_CLIENT_GROUP, c.GetClientGroup(organization_id=org.organization.id, client_group_id=top.id)
        ).children
    ] == ["Acme North"]
    assert leaf.parent.id == middle.id
    assert [x.name for x in leaf.ancestors] == ["Acme Holdings", "Acme North"]
    listed = call(c.LIST_CLIENT_GROUPS, c.ListClientGroups(organization_id=org.organization.id))
    by_name = {x.name: x for x in listed.items}
    assert by_name["Acme Holdings"].child_count == 1 and by_name["Acme Leeds"].child_count == 0


def test_a_group_cannot_sit_inside_itself_or_one_of_its_own_groups(call, org):
    top = group(call, org)
    child = group(call, org, parent=top)
    grandchild = group(call, org, parent=child)

    with pytest.raises(Conflict, match="inside this one"):
        move(call, org, top, grandchild)
    with pytest.raises(Conflict, match="inside this one"):
        move(call, org, top, child)
    with pytest.raises(Conflict, match="own parent"):
        move(call, org, child, child)
    # Nothing moved.
    again = call(
        c.GET_CLIENT_GROUP, c.GetClientGroup(organization_id=org.organization.id, client_group_id=top.id)
    )
    assert again.parent is None
    # Moving a group to the top, and back under another group, is fine.
    assert move(call, org, child, None).parent is None
    assert move(call, org, child, top).parent.id == top.id


def test_another_organizations_group_cannot_be_the_parent(call, org, other_org):
    theirs = group(call, other_org)
    with pytest.raises(NotFound) as refused:
        group(call, org, parent=theirs)
    assert refused.value.details["field"] == "parent_id"
    mine = group(call, org)
    with pytest.raises(NotFound):
        move(call, org, mine, theirs)
    # Nor can one organization read or change the other's group.
    with pytest.raises(NotFound):
        call(
            c.GET_CLIENT_GROUP,
            c.GetClientGroup(organization_id=org.organization.id, client_group_id=theirs.id),
        )
    with pytest.raises(NotFound):
        move(call, org, theirs, None)
    listed = call(c.LIST_CLIENT_GROUPS, c.ListClientGroups(organization_id=org.organization.id))
    assert theirs.id not in {x.id for x in listed.items}


def test_groups_are_at_most_five_levels_deep(call, org):
    chain = [group(call, org)]
    for _ in range(c.MAX_CLIENT_GROUP_DEPTH - 1):
        chain.append(group(call, org, parent=chain[-1]))
    with pytest.raises(Conflict, match="at most 5 levels"):
        group(call, org, parent=chain[-1])
    # A group with a child of its own cannot go under the fourth level either.
    pair = group(call, org)
    group(call, org, parent=pair)
    with pytest.raises(Conflict, match="at most 5 levels"):
        move(call, org, pair, chain[3])
    assert move(call, org, pair, chain[2]).parent.id == chain[2].id


def test_names_are_unique_in_an_organization_whatever_their_case(call, org, other_org):
    name = random_name("Acme ")
    group(call, org, name)
    with pytest.raises(InvalidInput, match="already has a client group named"):
        group(call, org, name.upper())
    assert group(call, other_org, name).name == name


def test_several_customers_per_group_and_several_groups_per_customer(call, org):
    top = group(call, org, random_name("A top "))
    child = group(call, org, random_name("B child "), top)
    grandchild = group(call, org, random_name("C grandchild "), child)
    elsewhere = group(call, org, random_name("D elsewhere "))
    cara, dev = customer(call, org), customer(call, org)

    authorise(call, org, top, cara)
    shown = authorise(call, org, top, dev)
    authorise(call, org, top, dev)  # again: no change
    authorise(call, org, elsewhere, dev)
    assert sorted(m.contact_id for m in shown.members) == sorted([cara.id, dev.id])

    portfolios = call(
        c.GET_CONTACT_CLIENT_GROUPS,
        c.GetContactClientGroups(organization_id=org.organization.id, contact_id=dev.id),
    ).portfolios
    assert [p.group.id for p in portfolios] == [top.id, elsewhere.id]
    assert [g.id for g in portfolios[0].groups] == [top.id, child.id, grandchild.id]
    assert [g.id for g in portfolios[1].groups] == [elsewhere.id]

    # Moving a group under another takes it into that group's portfolio at once.
    move(call, org, elsewhere, grandchild)
    cara_now = call(
        c.GET_CONTACT_CLIENT_GROUPS,
        c.GetContactClientGroups(organization_id=org.organization.id, contact_id=cara.id),
    ).portfolios
    assert [g.id for g in cara_now[0].groups] == [top.id, child.id, grandchild.id, elsewhere.id]

    removed = call(
        c.REMOVE_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(actor=actor(org), client_group_id=top.id, contact_id=cara.id),
    )
    assert [m.contact_id for m in removed.members] == [dev.id]
    assert (
        call(
            c.GET_CONTACT_CLIENT_GROUPS,
            c.GetContactClientGroups(organization_id=org.organization.id, contact_id=cara.id),
        ).portfolios
        == []
    )


def test_only_the_organizations_customers_can_be_authorised(call, org, other_org):
    grp = group(call, org)
    tenant = customer(call, org, ContactType.TENANT)
    with pytest.raises(InvalidInput, match="only a customer"):
        authorise(call, org, grp, tenant)
    theirs = customer(call, other_org)
    with pytest.raises(NotFound):
        authorise(call, org, grp, theirs)
    # Their portfolios are not readable through another organization either.
    authorise(call, other_org, group(call, other_org), theirs)
    assert (
        call(
            c.GET_CONTACT_CLIENT_GROUPS,
            c.GetContactClientGroups(organization_id=org.organization.id, contact_id=theirs.id),
        ).portfolios
        == []
    )
    assert [
        m.contact_id
        for m in call(
            c.GET_CLIENT_GROUP, c.GetClientGroup(organization_id=org.organization.id, client_group_id=grp.id)
        ).members
    ] == []


def test_eligibility_facts_say_which_groups_a_customer_is_authorised_on(call, org):
    grp = group(call, org)
    cara, other = customer(call, org), customer(call, org)
    authorise(call, org, grp, cara)
    facts = call(
        c.GET_ELIGIBILITY_FACTS,
        c.GetEligibilityFacts(
            organization_id=org.organization.id, contact_id=cara.id, staff_member_id=org.admin.id
        ),
    )
    assert facts.client_group_ids == [grp.id]
    many = call(
        c.GET_ELIGIBILITY_FACTS_MANY,
        c.GetEligibilityFactsMany(
            organization_id=org.organization.id, contact_ids=[cara.id, other.id], staff_member_id=org.admin.id
        ),
    )
    assert many.client_group_ids == {cara.id: [grp.id]}


def test_a_viewer_cannot_change_groups(call, org):
    viewer = call(
        c.CREATE_STAFF_MEMBER,
        c.CreateStaffMember(
            actor=actor(org), email=random_email("viewer"), name="Vic Viewer", role=StaffRole.VIEWER
        ),
    )
    as_viewer = c.StaffPrincipal(staff_member=viewer, organization=org.organization)
    with pytest.raises(PermissionDenied):
        call(c.CREATE_CLIENT_GROUP, c.CreateClientGroup(actor=actor(as_viewer), name=random_name("G")))
