"""The properties service's tables, all in the `properties` schema.

Contacts live in the contacts service: `contact_id` columns hold its ids, with no foreign key.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.contracts.common import ContactType, utc_now
from shared.contracts.properties import (
    DefectSeverity,
    DefectStatus,
    InterestLevel,
    MaintenanceCategory,
    MaintenancePriority,
    MaintenanceStatus,
    MarketingKind,
    MarketingStage,
    OfferStatus,
    ViewingStatus,
    VisibilitySubject,
)
from shared.outbox import inbox_table, outbox_table

SCHEMA = "properties"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class Property(Base):
    __tablename__ = "properties"
    __table_args__ = (Index("ix_properties_org_name", "organization_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )
    # A client group of the contacts service (no foreign key): at most one per property.
    client_group_id: Mapped[uuid.UUID | None] = mapped_column(index=True)

    units: Mapped[list[Unit]] = relationship(order_by="(Unit.name, Unit.id)")
    contacts: Mapped[list[PropertyContact]] = relationship(
        order_by="(PropertyContact.linked_at, PropertyContact.contact_id)"
    )


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (
        # A unit name once per property, compared as `rules.estate.unit_name_key` writes it.
        Index("uq_units_property_name", "property_id", "name_key", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    property_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("properties.id"))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


class Lease(Base):
    __tablename__ = "leases"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_leases_dates_in_order"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )

    unit: Mapped[Unit] = relationship()
    parties: Mapped[list[LeaseParty]] = relationship(order_by="LeaseParty.contact_id")


class LeaseParty(Base):
    """A tenant on a lease; co-tenants are several parties of one lease."""

    __tablename__ = "lease_parties"

    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id"), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class PropertyContact(Base):
    """A landlord or vendor of a property as a whole."""

    __tablename__ = "property_contacts"

    property_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("properties.id"), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    linked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


class Charge(Base):
    """Money the lease's tenants owe: rent, a deposit, a repair. In minor units (pence)."""

    __tablename__ = "charges"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_charges_amount_positive"),
        # The same Idempotency-Key on one lease is the same charge.
        Index(
            "ux_charges_lease_idempotency_key",
            "lease_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    created_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


class Payment(Base):
    """Money received from the lease's tenants. In minor units (pence)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_payments_amount_positive"),
        Index(
            "ux_payments_lease_idempotency_key",
            "lease_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


def _one_of(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(value.value) for value in values)})"


class MaintenanceRequest(Base):
    """A problem a tenant reported on a lease they are a party of; every party of the lease sees it."""

    __tablename__ = "maintenance_requests"
    __table_args__ = (
        CheckConstraint(_one_of("status", MaintenanceStatus), name="ck_maintenance_requests_status"),
        CheckConstraint(_one_of("category", MaintenanceCategory), name="ck_maintenance_requests_category"),
        CheckConstraint(_one_of("priority", MaintenancePriority), name="ck_maintenance_requests_priority"),
        Index("ix_maintenance_requests_org_created", "organization_id", "created_at"),
        # The same portal form sent twice by one person makes one request.
        Index(
            "ux_maintenance_requests_idempotency_key",
            "submitted_by_contact_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id"), index=True)
    submitted_by_contact_id: Mapped[uuid.UUID] = mapped_column()
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )

    history: Mapped[list[MaintenanceStatusChange]] = relationship(
        order_by="(MaintenanceStatusChange.changed_at.desc(), MaintenanceStatusChange.id.desc())"
    )


class MaintenanceStatusChange(Base):
    """One step of a request's history: its submission (no previous status), then each change."""

    __tablename__ = "maintenance_status_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("maintenance_requests.id"), index=True)
    previous_status: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(1000))
    changed_by_contact_id: Mapped[uuid.UUID | None] = mapped_column()
    changed_by_staff_member_id: Mapped[uuid.UUID | None] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


class Viewing(Base):
    """An applicant's viewing of a property, with what they said after it (one feedback per
    viewing)."""

    __tablename__ = "viewings"
    __table_args__ = (
        CheckConstraint(_one_of("status", ViewingStatus), name="ck_viewings_status"),
        CheckConstraint(_one_of("interest_level", InterestLevel), name="ck_viewings_interest_level"),
        Index("ix_viewings_property_scheduled", "property_id", "scheduled_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    property_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("properties.id"))
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applicant_name: Mapped[str] = mapped_column(String(200))
    # The applicant contact (contacts service) who booked it, if staff named one (migration 0008).
    applicant_contact_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20))
    feedback: Mapped[str | None] = mapped_column(String(2000))
    interest_level: Mapped[str | None] = mapped_column(String(20))
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feedback_by_staff_member_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


class Offer(Base):
    """An offer made on a property, in minor units (pence)."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_offers_amount_positive"),
        CheckConstraint(_one_of("status", OfferStatus), name="ck_offers_status"),
        Index("ix_offers_property_received", "property_id", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    property_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("properties.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    offerer_name: Mapped[str] = mapped_column(String(200))
    # The applicant contact who made it, if staff named one (migration 0008).
    offerer_contact_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


class VisibilitySetting(Base):
    """Whether contacts see a subject: for a contact type in the organization (`contact_type`), for
    a contact type on one property (`contact_type` and `property_id`), or for one contact
    (`contact_id`). No row: the default of `rules.visibility.DEFAULT_VISIBILITY` holds."""

    __tablename__ = "visibility_settings"
    __table_args__ = (
        CheckConstraint(_one_of("subject", VisibilitySubject), name="ck_visibility_settings_subject"),
        CheckConstraint(_one_of("contact_type", ContactType), name="ck_visibility_settings_contact_type"),
        CheckConstraint(
            "(contact_type IS NULL) <> (contact_id IS NULL) "
            "AND (property_id IS NULL OR contact_type IS NOT NULL)",
            name="ck_visibility_settings_one_target",
        ),
        Index(
            "ux_visibility_settings_type",
            "organization_id",
            "subject",
            "contact_type",
            unique=True,
            postgresql_where=text("contact_type IS NOT NULL AND property_id IS NULL"),
        ),
        Index(
            "ux_visibility_settings_property",
            "organization_id",
            "subject",
            "property_id",
            "contact_type",
            unique=True,
            postgresql_where=text("property_id IS NOT NULL"),
        ),
        Index(
            "ux_visibility_settings_contact",
            "organization_id",
            "subject",
            "contact_id",
            unique=True,
            postgresql_where=text("contact_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    subject: Mapped[str] = mapped_column(String(40))
    contact_type: Mapped[str | None] = mapped_column(String(20))
    contact_id: Mapped[uuid.UUID | None] = mapped_column()
    property_id: Mapped[uuid.UUID | None] = mapped_column()
    visible: Mapped[bool] = mapped_column(Boolean)
    updated_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)


# --- documents and maintenance photos (migration 0005) ----------------------------------------


class Document(Base):
    """A stored file about exactly one lease, property or client group (an id of the contacts
    service), shared with the contact types of its audiences. Its bytes live in
    `document_contents`, so listing documents never reads them."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'quote', 'receipt', 'other')", name="ck_documents_kind"),
        CheckConstraint(
            "content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'text/plain')",
            name="ck_documents_content_type",
        ),
        CheckConstraint("size_bytes > 0", name="ck_documents_size_positive"),
        CheckConstraint(
            "num_nonnulls(lease_id, property_id, client_group_id) = 1", name="ck_documents_one_scope"
        ),
        Index("ix_documents_org_client_group", "organization_id", "client_group_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    lease_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leases.id"), index=True)
    property_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("properties.id"), index=True)
    client_group_id: Mapped[uuid.UUID | None] = mapped_column()
    uploaded_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )

    audiences: Mapped[list[DocumentAudience]] = relationship(
        order_by="DocumentAudience.contact_type", cascade="all, delete-orphan", passive_deletes=True
    )


class DocumentAudience(Base):
    """One contact type a document is shared with."""

    __tablename__ = "document_audiences"
    __table_args__ = (
        CheckConstraint(_one_of("contact_type", ContactType), name="ck_document_audiences_contact_type"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    contact_type: Mapped[str] = mapped_column(String(20), primary_key=True)


class DocumentContent(Base):
    __tablename__ = "document_contents"

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class MaintenancePhoto(Base):
    """The photo a tenant sent with a maintenance request (at most one). Read without `content`
    unless the photo itself is asked for."""

    __tablename__ = "maintenance_request_photos"
    __table_args__ = (
        CheckConstraint(
            "content_type IN ('image/png', 'image/jpeg')", name="ck_maintenance_request_photos_content_type"
        ),
        CheckConstraint("size_bytes > 0", name="ck_maintenance_request_photos_size_positive"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("maintenance_requests.id"), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


# --- sale and letting progress (migration 0008) -----------------------------------------------


class MarketingStageRecord(Base):
    """One stage a property's sale or letting reached, with the day and staff's note; the last one
    (by id) is where its progress stands (`rules/progress.py`)."""

    __tablename__ = "marketing_stages"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MarketingKind), name="ck_marketing_stages_kind"),
        CheckConstraint(_one_of("stage", MarketingStage), name="ck_marketing_stages_stage"),
        Index("ix_marketing_stages_property", "property_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    property_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("properties.id"))
    kind: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(40))
    reached_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(1000))
    recorded_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )


# --- defects staff record on a property (migration 0009) ----------------------------------------


class Defect(Base):
    """A defect staff found on a property (no lease needed): open until resolved, and may be
    reopened (`rules/defects.py`). Customers of the property's client group read it."""

    __tablename__ = "defects"
    __table_args__ = (
        CheckConstraint(_one_of("severity", DefectSeverity), name="ck_defects_severity"),
        CheckConstraint(_one_of("status", DefectStatus), name="ck_defects_status"),
        CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name="ck_defects_resolved_at"),
        Index("ix_defects_property_status", "property_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    property_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("properties.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    found_on: Mapped[date] = mapped_column(Date)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )
    updated_by_staff_member_id: Mapped[uuid.UUID] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.now()
    )
