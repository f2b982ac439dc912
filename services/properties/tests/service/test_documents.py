"""Documents and maintenance photos on the real PostgreSQL and RabbitMQ: staff store a file on a
lease, a property or a client group with its audiences; a portal read, as the membership's contact,
shows a document only to a contact linked to what it is about as one of its audiences, and answers
NotFound for anything else; staff can ask why. Bad files are refused and nothing is stored.
"""

import base64
import hashlib
from datetime import date, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, text

from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import InvalidInput, NotFound
from shared.testing.helpers import random_name

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0" + bytes(32) + b"\xff\xd9"
START = date.today() - timedelta(days=30)


def upload(
    make, data=PDF, content_type="application/pdf", kind=p.DocumentKind.INVOICE, audiences=None, **scope
):
    return make.call(
        p.UPLOAD_DOCUMENT,
        p.UploadDocument(
            actor=make.actor(),
            kind=kind,
            title=f"{kind.value.capitalize()} for March",
            audiences=audiences,
            file=p.FileUpload(
                file_name="March invoice.pdf",
                content_type=content_type,
                content_base64=base64.b64encode(data).decode(),
            ),
            **scope,
        ),
    )


def tenant_lease(make):
    tenant = make.contact(ContactType.TENANT)
    return tenant, make.lease([tenant], START)


def link(make, prop_id, contact_type):
    contact = make.contact(contact_type)
    make.call(
        p.LINK_CONTACT,
        p.LinkContact(
            actor=make.actor(),
            property_id=prop_id,
            contact_id=contact.id,
            role=p.PropertyRole(contact_type.value),
        ),
    )
    return contact


def on_lease(make, contact, lease, organization_id=None):
    return make.call(
        p.LIST_PARTY_DOCUMENTS,
        p.ListPartyDocuments(
            organization_id=organization_id or make.organization_id, contact_id=contact.id, lease_id=lease.id
        ),
    ).items


def on_property(make, contact, property_id):
    return make.call(
        p.LIST_PARTY_DOCUMENTS,
        p.ListPartyDocuments(
            organization_id=make.organization_id, contact_id=contact.id, property_id=property_id
        ),
    ).items


def download(make, contact, document, organization_id=None):
    return make.call(
        p.GET_PARTY_DOCUMENT_FILE,
        p.GetPartyDocumentFile(
            organization_id=organization_id or make.organization_id,
            contact_id=contact.id,
            document_id=document.id,
        ),
    )


def explain(make, contact, document):
    return make.call(
        p.EXPLAIN_DOCUMENT_VISIBILITY,
        p.ExplainDocumentVisibility(
            organization_id=make.organization_id, document_id=document.id, contact_id=contact.id
        ),
    )


def test_a_tenant_sees_and_downloads_their_leases_invoice_and_not_another_leases(make):
    tenant, lease = tenant_lease(make)
    other_tenant, other_lease = tenant_lease(make)
    invoice = upload(make, lease_id=lease.id)
    upload(make, lease_id=other_lease.id)

    assert invoice.audiences == [ContactType.TENANT]  # the default of an invoice on a lease
    assert invoice.size_bytes == len(PDF) and invoice.sha256 == hashlib.sha256(PDF).hexdigest()
    assert [d.id for d in on_lease(make, tenant, lease)] == [invoice.id]
    got = download(make, tenant, invoice)
    assert base64.b64decode(got.content_base64) == PDF
    assert got.document.file_name == "March invoice.pdf"
    with pytest.raises(NotFound):
        download(make, other_tenant, invoice)
    with pytest.raises(NotFound):
        on_lease(make, other_tenant, lease)  # not their lease: nothing at all


def test_a_co_tenant_sees_the_leases_documents_too(make):
    first, second = make.contact(), make.contact()
    lease = make.lease([first, second], START)
    receipt = upload(make, kind=p.DocumentKind.RECEIPT, lease_id=lease.id)
    assert [d.id for d in on_lease(make, second, lease)] == [receipt.id]
    assert base64.b64decode(download(make, second, receipt).content_base64) == PDF


def test_a_vendor_does_not_see_a_document_shared_only_with_landlords(make):
    _, lease = tenant_lease(make)
    landlord = link(make, lease.property_id, ContactType.LANDLORD)
    vendor = link(make, lease.property_id, ContactType.VENDOR)
    quote = upload(make, kind=p.DocumentKind.QUOTE, property_id=lease.property_id)
    assert quote.audiences == [ContactType.LANDLORD]  # the default of a quote on a property

    assert [d.id for d in on_property(make, landlord, lease.property_id)] == [quote.id]
    assert on_property(make, vendor, lease.property_id) == []
    with pytest.raises(NotFound):
        download(make, vendor, quote)
    chain = explain(make, vendor, quote)
    assert chain.visible is False and chain.linked_as == [ContactType.VENDOR]
    assert [(step.rule, step.passed) for step in chain.chain] == [
        (p.DocumentRule.SCOPE_LINK, True),
        (p.DocumentRule.AUDIENCE, False),
        (p.DocumentRule.RESULT, False),
    ]
    assert "shared with landlords only" in chain.chain[1].explanation


def test_property_documents_reach_tenants_of_the_property_when_shared_with_them(make):
    tenant, lease = tenant_lease(make)
    notice = upload(make, kind=p.DocumentKind.OTHER, property_id=lease.property_id)
    assert notice.audiences == [ContactType.LANDLORD, ContactType.VENDOR]
    assert on_lease(make, tenant, lease) == []  # not shared with tenants

    make.call(
        p.SET_DOCUMENT_AUDIENCES,
        p.SetDocumentAudiences(actor=make.actor(), document_id=notice.id, audiences=[ContactType.TENANT]),
    )
    assert [d.id for d in on_lease(make, tenant, lease)] == [notice.id]
    assert (
        explain(make, tenant, notice).chain[0].explanation.endswith("a tenant on a lease of that property.")
    )


def test_a_landlord_sees_a_lease_document_only_when_it_is_shared_with_landlords(make):
    tenant, lease = tenant_lease(make)
    landlord = link(make, lease.property_id, ContactType.LANDLORD)
    invoice = upload(make, lease_id=lease.id)
    assert on_property(make, landlord, lease.property_id) == []
    shared = upload(make, lease_id=lease.id, audiences=[ContactType.TENANT, ContactType.LANDLORD])
    assert [d.id for d in on_property(make, landlord, lease.property_id)] == [shared.id]
    assert {d.id for d in on_lease(make, tenant, lease)} == {invoice.id, shared.id}


def test_an_audience_change_holds_from_the_next_read(make):
    tenant, lease = tenant_lease(make)
    invoice = upload(make, lease_id=lease.id)
    assert download(make, tenant, invoice)

    changed = make.call(
        p.SET_DOCUMENT_AUDIENCES,
        p.SetDocumentAudiences(actor=make.actor(), document_id=invoice.id, audiences=[]),
    )

    assert changed.audiences == []
    assert on_lease(make, tenant, lease) == []
    with pytest.raises(NotFound):
        download(make, tenant, invoice)
    explanation = explain(make, tenant, invoice)
    assert explanation.visible is False and explanation.chain[0].passed is True
    assert "only staff" in explanation.chain[1].explanation

    make.call(
        p.SET_DOCUMENT_AUDIENCES,
        p.SetDocumentAudiences(actor=make.actor(), document_id=invoice.id, audiences=[ContactType.TENANT]),
    )
    assert [d.id for d in on_lease(make, tenant, lease)] == [invoice.id]
    assert explain(make, tenant, invoice).visible is True


def test_an_unlinked_contact_is_told_why_not(make):
    _, lease = tenant_lease(make)
    stranger = make.contact(ContactType.TENANT)
    invoice = upload(make, lease_id=lease.id)
    explanation = explain(make, stranger, invoice)
    assert explanation.visible is False and explanation.linked_as == []
    assert [step.passed for step in explanation.chain] == [False, False, False]
    assert "not a tenant on that lease" in explanation.chain[0].explanation


def new_group(make):
    return make.call(
        c.CREATE_CLIENT_GROUP, c.CreateClientGroup(actor=make.actor(), name=random_name("Group "))
    ).id


def staff_documents(make, **place):
    return make.call(p.LIST_DOCUMENTS, p.ListDocuments(organization_id=make.organization_id, **place)).items


def test_client_group_documents_are_staff_readable_and_default_to_customers(make):
    group_id = new_group(make)
    statement = upload(make, kind=p.DocumentKind.OTHER, client_group_id=group_id)
    assert statement.scope == p.DocumentScope.CLIENT_GROUP and statement.audiences == [ContactType.CUSTOMER]
    assert [d.id for d in staff_documents(make, client_group_id=group_id)] == [statement.id]


def test_a_document_for_a_client_group_the_organization_does_not_have_is_refused_and_not_stored(
    make, make_other, settings
):
    theirs = new_group(make_other)
    before = _stored(settings)
    for group_id in (uuid4(), theirs):
        with pytest.raises(NotFound, match="no such client group"):
            upload(make, client_group_id=group_id)
    assert _stored(settings) == before
    assert staff_documents(make_other, client_group_id=theirs) == []


def test_listing_the_documents_of_a_client_group_the_organization_does_not_have_is_refused(make, make_other):
    ours, empty, theirs = new_group(make), new_group(make), new_group(make_other)
    statement = upload(make, kind=p.DocumentKind.OTHER, client_group_id=ours)
    their_statement = upload(make_other, kind=p.DocumentKind.OTHER, client_group_id=theirs)
    for group_id in (uuid4(), theirs):
        with pytest.raises(NotFound, match="no such client group"):
            staff_documents(make, client_group_id=group_id)
    assert [d.id for d in staff_documents(make, client_group_id=ours)] == [statement.id]
    assert staff_documents(make, client_group_id=empty) == []
    assert [d.id for d in staff_documents(make_other, client_group_id=theirs)] == [their_statement.id]


def test_another_organization_finds_nothing(make, make_other):
    tenant, lease = tenant_lease(make)
    invoice = upload(make, lease_id=lease.id)
    other = make_other.organization_id
    with pytest.raises(NotFound):
        make.call(p.GET_DOCUMENT_FILE, p.GetDocument(organization_id=other, document_id=invoice.id))
    with pytest.raises(NotFound):
        download(make, tenant, invoice, organization_id=other)
    with pytest.raises(NotFound):
        make_other.call(
            p.SET_DOCUMENT_AUDIENCES,
            p.SetDocumentAudiences(actor=make_other.actor(), document_id=invoice.id, audiences=[]),
        )
    with pytest.raises(NotFound):
        make_other.call(p.DELETE_DOCUMENT, p.DeleteDocument(actor=make_other.actor(), document_id=invoice.id))
    with pytest.raises(NotFound):
        upload(make_other, lease_id=lease.id)  # their lease is not ours to file on
    with pytest.raises(NotFound):
        make.call(p.LIST_DOCUMENTS, p.ListDocuments(organization_id=other, lease_id=lease.id))
    assert [d.id for d in on_lease(make, tenant, lease)] == [invoice.id]


def test_a_deleted_document_is_gone_for_everyone(make):
    tenant, lease = tenant_lease(make)
    invoice = upload(make, lease_id=lease.id)
    make.call(p.DELETE_DOCUMENT, p.DeleteDocument(actor=make.actor(), document_id=invoice.id))
    assert on_lease(make, tenant, lease) == []
    with pytest.raises(NotFound):
        download(make, tenant, invoice)
    with pytest.raises(NotFound):
        make.call(
            p.GET_DOCUMENT_FILE, p.GetDocument(organization_id=make.organization_id, document_id=invoice.id)
        )


def _stored(settings):
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM properties.documents")).scalar_one(), (
                connection.execute(text("SELECT count(*) FROM properties.document_contents")).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (PDF, "text/html", "files of type text/html are not accepted"),
        (b"<html><script>alert(1)</script>", "image/png", "not PNG image"),
        (b"", "application/pdf", "the file is empty"),
        (b"%PDF-" + bytes(5 * 1024 * 1024), "application/pdf", "at most 5 MiB is accepted"),
        (b"Hello\x00there", "text/plain", "not plain text"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_stored(make, settings, data, content_type, message):
    _, lease = tenant_lease(make)
    before = _stored(settings)
    with pytest.raises(InvalidInput) as refused:
        upload(make, data=data, content_type=content_type, lease_id=lease.id)
    assert message in refused.value.message.lower() or message in str(refused.value.details)
    assert refused.value.details["errors"][0]["field"] == "file"
    assert _stored(settings) == before


def test_the_file_name_is_kept_without_its_path_or_header_characters(make):
    _, lease = tenant_lease(make)
    document = make.call(
        p.UPLOAD_DOCUMENT,
        p.UploadDocument(
            actor=make.actor(),
            kind=p.DocumentKind.RECEIPT,
            title="Receipt",
            lease_id=lease.id,
            file=p.FileUpload(
                file_name='C:\\fakepath\\re"ceipt;.txt',
                content_type="text/plain",
                content_base64=base64.b64encode("Paid £950 — thank you".encode()).decode(),
            ),
        ),
    )
    assert document.file_name == "re_ceipt;.txt"


def test_one_scope_is_required():
    with pytest.raises(ValueError, match="exactly one"):
        p.UploadDocument.model_validate(
            {
                "actor": {"organization_id": str(uuid4()), "staff_member_id": str(uuid4())},
                "kind": "invoice",
                "title": "Two places",
                "lease_id": str(uuid4()),
                "property_id": str(uuid4()),
                "file": {
                    "file_name": "a.pdf",
                    "content_type": "application/pdf",
                    "content_base64": "JVBERi0=",
                },
            }
        )


# --- maintenance photos -----------------------------------------------------------------------


def report(make, tenant, lease, photo=None, key=None):
    return make.call(
        p.CREATE_MAINTENANCE_REQUEST,
        p.CreateMaintenanceRequest(
            organization_id=make.organization_id,
            contact_id=tenant.id,
            lease_id=lease.id,
            category=p.MaintenanceCategory.PLUMBING,
            description="The kitchen tap drips",
            idempotency_key=key,
            photo=photo,
        ),
    )


def jpeg(data=JPEG, name="tap.jpg", content_type="image/jpeg"):
    return p.FileUpload(
        file_name=name, content_type=content_type, content_base64=base64.b64encode(data).decode()
    )


def test_a_photo_is_stored_with_the_request_and_shown_to_the_co_tenants_and_staff(make):
    first, second = make.contact(), make.contact()
    lease = make.lease([first, second], START)
    stranger, _ = tenant_lease(make)
    made = report(make, first, lease, photo=jpeg())
    assert made.photo is not None and made.photo.content_type == "image/jpeg"
    assert made.photo.sha256 == hashlib.sha256(JPEG).hexdigest()

    seen = make.call(
        p.GET_PARTY_MAINTENANCE_REQUEST,
        p.GetPartyMaintenanceRequest(
            organization_id=make.organization_id, contact_id=second.id, request_id=made.id
        ),
    )
    assert seen.photo == made.photo
    photo = make.call(
        p.GET_PARTY_MAINTENANCE_PHOTO,
        p.GetPartyMaintenancePhoto(
            organization_id=make.organization_id, contact_id=second.id, request_id=made.id
        ),
    )
    assert base64.b64decode(photo.content_base64) == JPEG
    staff = make.call(
        p.GET_MAINTENANCE_PHOTO,
        p.GetMaintenancePhoto(organization_id=make.organization_id, request_id=made.id),
    )
    assert base64.b64decode(staff.content_base64) == JPEG
    with pytest.raises(NotFound):
        make.call(
            p.GET_PARTY_MAINTENANCE_PHOTO,
            p.GetPartyMaintenancePhoto(
                organization_id=make.organization_id, contact_id=stranger.id, request_id=made.id
            ),
        )


def test_a_request_without_a_photo_has_none(make):
    tenant, lease = tenant_lease(make)
    made = report(make, tenant, lease)
    assert made.photo is None
    with pytest.raises(NotFound, match="no photo"):
        make.call(
            p.GET_MAINTENANCE_PHOTO,
            p.GetMaintenancePhoto(organization_id=make.organization_id, request_id=made.id),
        )


@pytest.mark.parametrize(
    "photo",
    [
        jpeg(PDF, "bill.pdf", "application/pdf"),  # a PDF is a document, not a photo
        jpeg(PNG, "tap.jpg", "image/jpeg"),  # PNG bytes sent as JPEG
        jpeg(b"", "tap.jpg"),
    ],
)
def test_a_bad_photo_makes_no_request(make, photo):
    tenant, lease = tenant_lease(make)
    with pytest.raises(InvalidInput) as refused:
        report(make, tenant, lease, photo=photo)
    assert refused.value.details["errors"][0]["field"] == "photo"
    listed = make.call(
        p.LIST_MAINTENANCE_REQUESTS,
        p.ListMaintenanceRequests(organization_id=make.organization_id, lease_id=lease.id),
    )
    assert listed.total == 0


def test_the_same_form_twice_keeps_one_request_and_one_photo(make):
    tenant, lease = tenant_lease(make)
    first = report(make, tenant, lease, photo=jpeg(), key="a" * 32)
    again = report(make, tenant, lease, photo=jpeg(PNG, "other.png", "image/png"), key="a" * 32)
    assert again.id == first.id
    assert again.photo == first.photo  # the first photo stays
