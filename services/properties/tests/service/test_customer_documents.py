"""Customers' documents (Uptick) through the properties service's entrypoints, with the contacts
service that owns client groups, on the real PostgreSQL and RabbitMQ: a customer authorised on a
group sees the documents of that group and of every group below it, and those of the properties in
them, when they are shared with customers; anyone else (another group's customer, a landlord) gets
NotFound, and staff are told why, naming the group the link runs through."""

import base64

import pytest

from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import NotFound
from shared.testing.helpers import random_name

PDF = b"%PDF-1.7\n% group statement\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TEXT = b"Fire risk assessment, signed off\n"


def new_group(make, parent=None):
    return make.call(
        c.CREATE_CLIENT_GROUP,
        c.CreateClientGroup(
            actor=make.actor(), name=random_name("Group "), parent_id=parent.id if parent else None
        ),
    )


def authorised(make, group):
    """A new customer contact, an authorised account of `group`."""
    contact = make.contact(ContactType.CUSTOMER)
    make.call(
        c.ADD_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(actor=make.actor(), client_group_id=group.id, contact_id=contact.id),
    )
    return contact


def site(make, group):
    prop = make.call(
        p.CREATE_PROPERTY,
        p.CreateProperty(
            actor=make.actor(),
            property=p.NewProperty(
                name=random_name("Site "), address_line1="1 Dock Road", city="Hull", postcode="HU1 1AA"
            ),
        ),
    )
    return make.call(
        p.ASSIGN_CLIENT_GROUP,
        p.AssignClientGroup(actor=make.actor(), property_id=prop.id, client_group_id=group.id),
    )


def upload(make, title, data=PDF, content_type="application/pdf", audiences=None, **scope):
    return make.call(
        p.UPLOAD_DOCUMENT,
        p.UploadDocument(
            actor=make.actor(),
            kind=p.DocumentKind.OTHER,
            title=title,
            audiences=audiences,
            file=p.FileUpload(
                file_name=f"{title}.pdf" if content_type == "application/pdf" else f"{title}.txt",
                content_type=content_type,
                content_base64=base64.b64encode(data).decode(),
            ),
            **scope,
        ),
    )


def listed(make, contact, **place):
    found = make.call(
        p.LIST_PARTY_DOCUMENTS,
        p.ListPartyDocuments(organization_id=make.organization_id, contact_id=contact.id, **place),
    )
    return [d.title for d in found.items]


def download(make, contact, document):
    return make.call(
        p.GET_PARTY_DOCUMENT_FILE,
        p.GetPartyDocumentFile(
            organization_id=make.organization_id, contact_id=contact.id, document_id=document.id
        ),
    )


def explain(make, contact, document):
    return make.call(
        p.EXPLAIN_DOCUMENT_VISIBILITY,
        p.ExplainDocumentVisibility(
            organization_id=make.organization_id, document_id=document.id, contact_id=contact.id
        ),
    )


def test_a_parent_groups_customer_sees_a_child_groups_documents_and_its_properties(make):
    top = new_group(make)
    north = new_group(make, top)
    depot = site(make, north)
    cara = authorised(make, top)
    top_letter = upload(make, "Group letter", client_group_id=top.id)
    north_plan = upload(make, "North plan", client_group_id=north.id)
    assessment = upload(
        make,
        "Fire assessment",
        data=TEXT,
        content_type="text/plain",
        audiences=[ContactType.CUSTOMER],
        property_id=depot.id,
    )
    assert north_plan.audiences == [ContactType.CUSTOMER]  # the default on a client group

    # The dashboard: the documents of the portfolio's groups, newest first (not the property's).
    assert listed(make, cara, client_group_id=top.id) == ["North plan", "Group letter"]
    # The depot's page: its own documents and its group's, not the group above.
    assert listed(make, cara, property_id=depot.id) == ["Fire assessment", "North plan"]
    assert base64.b64decode(download(make, cara, north_plan).content_base64) == PDF
    assert base64.b64decode(download(make, cara, assessment).content_base64) == TEXT
    assert base64.b64decode(download(make, cara, top_letter).content_base64) == PDF

    # Staff are told why, with the group the link runs through.
    why = explain(make, cara, north_plan)
    assert why.visible is True and why.linked_as == [ContactType.CUSTOMER]
    assert [step.passed for step in why.chain] == [True, True, True]
    assert why.chain[0].explanation == (
        f"This document is about the client group {north.name}; this contact is a customer "
        f"authorised on {top.name}, a client group above {north.name}."
    )
    why = explain(make, cara, assessment)
    assert why.visible is True
    assert why.chain[0].explanation == (
        f"This document is about the property {depot.name}; this contact is a customer authorised on "
        f"{top.name}, a client group above its group {north.name}."
    )

    # An account of the child group sees its part only: not the parent's letter.
    dev = authorised(make, north)
    assert listed(make, dev, client_group_id=north.id) == ["North plan"]
    with pytest.raises(NotFound):
        download(make, dev, top_letter)
    with pytest.raises(NotFound):
        listed(make, dev, client_group_id=top.id)
    assert f"authorised on {north.name}." in explain(make, dev, north_plan).chain[0].explanation


def test_a_customer_of_another_group_gets_not_found(make, make_other):
    group, other = new_group(make), new_group(make)
    depot = site(make, group)
    plan = upload(make, "Plan", client_group_id=group.id)
    assessment = upload(make, "Assessment", audiences=[ContactType.CUSTOMER], property_id=depot.id)
    eve = authorised(make, other)

    for document in (plan, assessment):
        with pytest.raises(NotFound):
            download(make, eve, document)
    with pytest.raises(NotFound):
        listed(make, eve, property_id=depot.id)
    with pytest.raises(NotFound):
        listed(make, eve, client_group_id=group.id)
    assert listed(make, eve, client_group_id=other.id) == []
    why = explain(make, eve, plan)
    assert why.visible is False and why.linked_as == []
    assert "not an authorised account of that client group" in why.chain[0].explanation
    # Another organization's customer asking about ours: not found either.
    theirs = make_other.contact(ContactType.CUSTOMER)
    with pytest.raises(NotFound):
        make_other.call(
            p.GET_PARTY_DOCUMENT_FILE,
            p.GetPartyDocumentFile(
                organization_id=make_other.organization_id, contact_id=theirs.id, document_id=plan.id
            ),
        )


def test_a_document_not_shared_with_customers_is_hidden_from_them(make):
    group = new_group(make)
    depot = site(make, group)
    cara = authorised(make, group)
    staff_only = upload(make, "Staff notes", audiences=[], client_group_id=group.id)
    landlords = upload(make, "Landlord quote", property_id=depot.id)  # the default: landlords, vendors

    assert listed(make, cara, client_group_id=group.id) == []
    assert listed(make, cara, property_id=depot.id) == []
    for document in (staff_only, landlords):
        with pytest.raises(NotFound):
            download(make, cara, document)
        why = explain(make, cara, document)
        assert why.visible is False and why.linked_as == [ContactType.CUSTOMER]
    # Shared with customers: from the next read.
    make.call(
        p.SET_DOCUMENT_AUDIENCES,
        p.SetDocumentAudiences(
            actor=make.actor(), document_id=staff_only.id, audiences=[ContactType.CUSTOMER]
        ),
    )
    assert listed(make, cara, property_id=depot.id) == ["Staff notes"]


def test_a_landlord_does_not_see_a_client_group_document(make):
    group = new_group(make)
    depot = site(make, group)
    landlord = make.contact(ContactType.LANDLORD)
    make.call(
        p.LINK_CONTACT,
        p.LinkContact(
            actor=make.actor(), property_id=depot.id, contact_id=landlord.id, role=p.PropertyRole.LANDLORD
        ),
    )
    everyone = [ContactType.LANDLORD, ContactType.CUSTOMER]
    plan = upload(make, "Group plan", audiences=everyone, client_group_id=group.id)
    upload(make, "Landlord quote", property_id=depot.id)

    assert listed(make, landlord, property_id=depot.id) == ["Landlord quote"]
    with pytest.raises(NotFound):
        download(make, landlord, plan)
    why = explain(make, landlord, plan)
    assert why.visible is False and why.linked_as == []
