"""A viewer may read but not change anything, and the properties service holds that rule itself,
whoever calls it: every staff command from a viewer is refused with the gateway's error (403
`permission_denied`, "Your role can read but not change anything.") and leaves every row of the
service's schema, its outbox included, as it was."""

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType, RpcMethod, StaffActor, StaffRole
from shared.contracts.errors import PermissionDenied
from shared.testing.helpers import random_email, random_name

START = date.today() - timedelta(days=30)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class World:
    """One of everything a staff command can change, made by the organization's admin."""

    property: p.PropertyView
    lease: p.LeaseView
    landlord: c.ContactView
    vendor: c.ContactView  # not linked yet
    request: p.MaintenanceRequestView
    viewing: p.ViewingView
    offer: p.OfferView
    document: p.DocumentView
    defect: p.DefectView
    group: c.ClientGroupView


def make_world(make) -> World:
    tenant, landlord = make.contact(ContactType.TENANT), make.contact(ContactType.LANDLORD)
    vendor = make.contact(ContactType.VENDOR)
    lease = make.lease([tenant], START)
    prop_id, admin = lease.property_id, make.actor()
    prop = make.call(
        p.LINK_CONTACT,
        p.LinkContact(actor=admin, property_id=prop_id, contact_id=landlord.id, role=p.PropertyRole.LANDLORD),
    )
    request = make.call(
        p.CREATE_MAINTENANCE_REQUEST,
        p.CreateMaintenanceRequest(
            organization_id=make.organization_id,
            contact_id=tenant.id,
            lease_id=lease.id,
            category=p.MaintenanceCategory.PLUMBING,
            description="The kitchen tap drips all night.",
        ),
    )
    viewing = make.call(
        p.CREATE_VIEWING,
        p.CreateViewing(
            actor=admin,
            property_id=prop_id,
            viewing=p.NewViewing(scheduled_at=datetime.now(UTC) + timedelta(days=2), applicant_name="Ann"),
        ),
    )
    offer = make.call(
        p.CREATE_OFFER,
        p.CreateOffer(
            actor=admin, property_id=prop_id, offer=p.NewOffer(amount_minor=25_000_000, offerer_name="Ann")
        ),
    )
    document = make.call(p.UPLOAD_DOCUMENT, upload(admin, lease_id=lease.id))
    defect = make.call(
        p.RECORD_DEFECT,
        p.RecordDefect(
            actor=admin,
            property_id=prop_id,
            title="Damp in the hall",
            description="A damp patch by the front door.",
            severity=p.DefectSeverity.MEDIUM,
        ),
    )
    group = make.call(c.CREATE_CLIENT_GROUP, c.CreateClientGroup(actor=admin, name=random_name("Group")))
    return World(prop, lease, landlord, vendor, request, viewing, offer, document, defect, group)


def upload(actor: StaffActor, **scope: Any) -> p.UploadDocument:
    return p.UploadDocument(
        actor=actor,
        kind=p.DocumentKind.INVOICE,
        title="Invoice for March",
        file=p.FileUpload(
            file_name="march.pdf",
            content_type="application/pdf",
            content_base64=base64.b64encode(PDF).decode(),
        ),
        **scope,
    )


# Every staff command of the properties service, as a viewer would send it about the world.
WRITES: dict[str, Any] = {
    "create_property": lambda a, w: p.CreateProperty(
        actor=a,
        property=p.NewProperty(
            name="Viewer House", address_line1="2 High Street", city="Leeds", postcode="LS1"
        ),
    ),
    "add_unit": lambda a, w: p.AddUnit(actor=a, property_id=w.property.id, name="Flat 2"),
    "link_contact": lambda a, w: p.LinkContact(
        actor=a, property_id=w.property.id, contact_id=w.vendor.id, role=p.PropertyRole.VENDOR
    ),
    "unlink_contact": lambda a, w: p.UnlinkContact(
        actor=a, property_id=w.property.id, contact_id=w.landlord.id
    ),
    "create_lease": lambda a, w: p.CreateLease(
        actor=a, unit_id=w.lease.unit_id, start_date=START, tenant_contact_ids=w.lease.tenant_contact_ids
    ),
    "end_lease": lambda a, w: p.EndLease(actor=a, lease_id=w.lease.id, end_date=START),
    "add_charge": lambda a, w: p.AddCharge(
        actor=a, lease_id=w.lease.id, description="Rent", amount_minor=95_000, due_date=START
    ),
    "record_payment": lambda a, w: p.RecordPayment(
        actor=a, lease_id=w.lease.id, amount_minor=95_000, paid_on=START
    ),
    "update_maintenance_status": lambda a, w: p.UpdateMaintenanceStatus(
        actor=a, request_id=w.request.id, status=p.MaintenanceStatus.ACKNOWLEDGED, note="On it"
    ),
    "create_viewing": lambda a, w: p.CreateViewing(
        actor=a,
        property_id=w.property.id,
        viewing=p.NewViewing(scheduled_at=datetime.now(UTC) + timedelta(days=3), applicant_name="Bob"),
    ),
    "record_viewing_feedback": lambda a, w: p.RecordViewingFeedback(
        actor=a, viewing_id=w.viewing.id, feedback="Loved the garden."
    ),
    "update_viewing_status": lambda a, w: p.UpdateViewingStatus(
        actor=a, viewing_id=w.viewing.id, status=p.ViewingStatus.CANCELLED
    ),
    "create_offer": lambda a, w: p.CreateOffer(
        actor=a, property_id=w.property.id, offer=p.NewOffer(amount_minor=24_000_000, offerer_name="Bob")
    ),
    "update_offer_status": lambda a, w: p.UpdateOfferStatus(
        actor=a, offer_id=w.offer.id, status=p.OfferStatus.ACCEPTED
    ),
    "set_visibility": lambda a, w: p.SetVisibility(
        actor=a, subject=p.VisibilitySubject.VIEWING_FEEDBACK, contact_type=ContactType.VENDOR, visible=True
    ),
    "set_marketing_stage": lambda a, w: p.SetMarketingStage(
        actor=a, property_id=w.property.id, kind=p.MarketingKind.SALE, stage=p.MarketingStage.ON_THE_MARKET
    ),
    "upload_document": lambda a, w: upload(a, property_id=w.property.id),
    "set_document_audiences": lambda a, w: p.SetDocumentAudiences(
        actor=a, document_id=w.document.id, audiences=[ContactType.LANDLORD]
    ),
    "delete_document": lambda a, w: p.DeleteDocument(actor=a, document_id=w.document.id),
    "assign_client_group": lambda a, w: p.AssignClientGroup(
        actor=a, property_id=w.property.id, client_group_id=w.group.id
    ),
    "record_defect": lambda a, w: p.RecordDefect(
        actor=a,
        property_id=w.property.id,
        title="Cracked tile",
        description="A cracked tile in the bathroom.",
        severity=p.DefectSeverity.LOW,
    ),
    "set_defect_status": lambda a, w: p.SetDefectStatus(
        actor=a, defect_id=w.defect.id, status=p.DefectStatus.RESOLVED
    ),
}
METHODS = {
    method.name: method
    for method in vars(p).values()
    if isinstance(method, RpcMethod) and method.service == "properties"
}


def test_every_staff_command_of_the_service_is_in_the_list():
    """A new staff command is refused to viewers only if it calls the rule: list it here."""
    commands = {name for name, method in METHODS.items() if "actor" in method.request.model_fields}
    assert commands == set(WRITES)


def snapshot(infra, organization_id) -> dict[str, str]:
    """A digest of every table of the properties schema. Of the outbox, only the organization's
    events, without their publication: the relay marks rows published on its own time, and the
    lease-end timer may announce another test's lease."""
    with infra.engine.connect() as connection:
        tables = connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'properties'")
        ).scalars()
        digests = {}
        for table in sorted(tables):
            only = "WHERE t.payload->>'organization_id' = :org" if table == "outbox" else ""
            digests[table] = connection.execute(
                text(
                    "SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
                    f"FROM (SELECT to_jsonb(t) - 'published_at' AS r FROM properties.{table} t {only}) rows"
                ),
                {"org": str(organization_id)} if only else {},
            ).scalar_one()
        return digests


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_viewers_command_is_refused_and_changes_nothing(make, infra, name):
    world = make_world(make)
    viewer = make.call(
        c.CREATE_STAFF_MEMBER,
        c.CreateStaffMember(
            actor=make.actor(), email=random_email("viewer"), name="Vee", role=StaffRole.VIEWER
        ),
    )
    as_viewer = StaffActor(organization_id=make.organization_id, staff_member_id=viewer.id, role=viewer.role)
    before = snapshot(infra, make.organization_id)

    with pytest.raises(PermissionDenied) as refused:
        make.call(METHODS[name], WRITES[name](as_viewer, world))

    assert refused.value.code == "permission_denied"
    assert refused.value.message == "Your role can read but not change anything."
    assert snapshot(infra, make.organization_id) == before


def test_an_actor_without_a_role_may_not_write_either(make, infra):
    """Only a service's own actor lacks a role (never the gateway's): the rule fails closed."""
    world = make_world(make)
    no_role = StaffActor(organization_id=make.organization_id, staff_member_id=make.org.admin.id)
    before = snapshot(infra, make.organization_id)
    with pytest.raises(PermissionDenied):
        make.call(p.ADD_UNIT, WRITES["add_unit"](no_role, world))
    assert snapshot(infra, make.organization_id) == before


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.MANAGER, StaffRole.AGENT])
def test_every_other_role_may_write(make, role):
    member = make.call(
        c.CREATE_STAFF_MEMBER,
        c.CreateStaffMember(actor=make.actor(), email=random_email(role.value), name="Ed", role=role),
    )
    editor = StaffActor(organization_id=make.organization_id, staff_member_id=member.id, role=member.role)
    prop = make.call(p.CREATE_PROPERTY, WRITES["create_property"](editor, None))
    unit = make.call(p.ADD_UNIT, p.AddUnit(actor=editor, property_id=prop.id, name="Flat 1"))
    assert unit.property_id == prop.id
