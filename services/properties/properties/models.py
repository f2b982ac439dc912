"""The properties service's tables, all in the `properties` schema.

Contacts live in the contacts service: `contact_id` columns hold its ids, with no foreign key.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.contracts.common import utc_now
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

    units: Mapped[list[Unit]] = relationship(order_by="(Unit.name, Unit.id)")
    contacts: Mapped[list[PropertyContact]] = relationship(
        order_by="(PropertyContact.linked_at, PropertyContact.contact_id)"
    )


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (
        # A unit name once per property, compared as `domain.unit_name_key` writes it.
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


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
