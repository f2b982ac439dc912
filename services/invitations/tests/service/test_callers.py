"""A service serves a call only from a caller its contract names, by the broker login RabbitMQ
vouches for: with the properties service's login (a process an attacker may have broken into),
nobody can list an organization's contacts, start a View As or fetch a document. The same calls
from the gateway's login are served."""

import uuid

import pytest
from sqlalchemy import text

from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.errors import NotFound, PermissionDenied
from shared.testing.helpers import rpc_over_broker


def view_as_sessions(infra, contact):
    with infra.engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM invitations.view_as_sessions WHERE contact_id = :c"), {"c": contact.id}
        ).scalar_one()


def test_the_properties_login_may_not_act_for_staff_or_people(platform, settings, infra):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    as_properties = rpc_over_broker(settings.nameko_config(), caller="properties")
    as_gateway = rpc_over_broker(settings.nameko_config())
    list_contacts = c.ListContacts(organization_id=org.id)
    view_as = i.StartViewAs(actor=org.actor, contact_id=tenant.id)
    document = p.GetDocument(organization_id=org.id, document_id=uuid.uuid4())

    for method, request in (
        (c.LIST_CONTACTS, list_contacts),
        (i.START_VIEW_AS, view_as),
        (p.GET_DOCUMENT_FILE, document),
    ):
        with pytest.raises(PermissionDenied, match="may not be called by this broker login"):
            as_properties(method, request)
    assert view_as_sessions(infra, tenant) == 0

    # From the gateway each is served: the contacts listed, a View As started, the document
    # looked up (and not found, being made up).
    assert [x.id for x in as_gateway(c.LIST_CONTACTS, list_contacts).items] == [tenant.id]
    assert as_gateway(i.START_VIEW_AS, view_as).session_id
    assert view_as_sessions(infra, tenant) == 1
    with pytest.raises(NotFound):
        as_gateway(p.GET_DOCUMENT_FILE, document)
    # What properties needs of contacts, it may have.
    assert (
        as_properties(c.GET_CONTACT, c.GetContact(organization_id=org.id, contact_id=tenant.id)).id
        == tenant.id
    )
