"""How the properties service's rows are answered: one function per view of the contract, shared by
every use case that answers it. Pure rules live in `rules/`, one module per sub-domain named like
the use-case module that applies it."""

from __future__ import annotations

from datetime import date

from properties.models import Charge, Lease, MaintenanceRequest, Offer, Payment, Property, Unit, Viewing
from properties.rules.estate import one_line_address
from properties.rules.leases import lease_is_active
from shared.contracts import properties as p

# --- properties, units, leases and what their tenants owe -------------------------------------


def unit_view(unit: Unit) -> p.UnitView:
    return p.UnitView(id=unit.id, property_id=unit.property_id, name=unit.name)


def property_view(prop: Property) -> p.PropertyView:
    return p.PropertyView(
        id=prop.id,
        organization_id=prop.organization_id,
        name=prop.name,
        address_line1=prop.address_line1,
        address_line2=prop.address_line2,
        city=prop.city,
        postcode=prop.postcode,
        country=prop.country,
        units=[unit_view(unit) for unit in prop.units],
        contacts=[
            p.PropertyContactView(
                contact_id=link.contact_id, role=p.PropertyRole(link.role), linked_at=link.linked_at
            )
            for link in prop.contacts
        ],
        created_at=prop.created_at,
        client_group_id=prop.client_group_id,
    )


def lease_view(lease: Lease) -> p.LeaseView:
    return p.LeaseView(
        id=lease.id,
        organization_id=lease.organization_id,
        unit_id=lease.unit_id,
        property_id=lease.unit.property_id,
        start_date=lease.start_date,
        end_date=lease.end_date,
        tenant_contact_ids=[party.contact_id for party in lease.parties],
        created_at=lease.created_at,
    )


def lease_link(
    lease: Lease, unit: Unit, prop: Property, today: date, balance_due: int, overdue: int
) -> p.LeaseLink:
    return p.LeaseLink(
        lease_id=lease.id,
        unit_id=unit.id,
        unit_name=unit.name,
        property_id=prop.id,
        property_name=prop.name,
        address=address(prop),
        start_date=lease.start_date,
        end_date=lease.end_date,
        active=lease_is_active(lease.start_date, lease.end_date, today),
        balance_due_minor=balance_due,
        overdue_minor=overdue,
    )


def charge_view(charge: Charge) -> p.ChargeView:
    return p.ChargeView(
        id=charge.id,
        lease_id=charge.lease_id,
        description=charge.description,
        amount_minor=charge.amount_minor,
        due_date=charge.due_date,
        created_at=charge.created_at,
    )


def payment_view(payment: Payment) -> p.PaymentView:
    return p.PaymentView(
        id=payment.id,
        lease_id=payment.lease_id,
        amount_minor=payment.amount_minor,
        paid_on=payment.paid_on,
        reference=payment.reference,
        created_at=payment.created_at,
    )


def address(prop: Property) -> str:
    return one_line_address(prop.address_line1, prop.address_line2, prop.city, prop.postcode)


# --- maintenance requests ---------------------------------------------------------------------


def maintenance_summary(
    request: MaintenanceRequest, unit_name: str, property_name: str
) -> p.MaintenanceRequestSummary:
    return p.MaintenanceRequestSummary(
        id=request.id,
        organization_id=request.organization_id,
        lease_id=request.lease_id,
        unit_name=unit_name,
        property_name=property_name,
        category=p.MaintenanceCategory(request.category),
        priority=p.MaintenancePriority(request.priority),
        description=request.description,
        status=p.MaintenanceStatus(request.status),
        submitted_by_contact_id=request.submitted_by_contact_id,
        created_at=request.created_at,
        updated_at=request.updated_at,
    )


def maintenance_request_view(
    request: MaintenanceRequest, unit_name: str, property_name: str
) -> p.MaintenanceRequestView:
    return p.MaintenanceRequestView(
        **maintenance_summary(request, unit_name, property_name).model_dump(),
        history=[
            p.MaintenanceStatusChange(
                previous_status=p.MaintenanceStatus(change.previous_status)
                if change.previous_status
                else None,
                status=p.MaintenanceStatus(change.status),
                note=change.note,
                changed_by_contact_id=change.changed_by_contact_id,
                changed_by_staff_member_id=change.changed_by_staff_member_id,
                changed_at=change.changed_at,
            )
            for change in request.history
        ],
    )


# --- viewings and offers ----------------------------------------------------------------------


def viewing_view(viewing: Viewing, feedback_visible: bool = True) -> p.ViewingView:
    """The viewing; without its feedback when the reader may not see feedback."""
    return p.ViewingView(
        id=viewing.id,
        organization_id=viewing.organization_id,
        property_id=viewing.property_id,
        scheduled_at=viewing.scheduled_at,
        applicant_name=viewing.applicant_name,
        status=p.ViewingStatus(viewing.status),
        feedback=viewing.feedback if feedback_visible else None,
        interest_level=p.InterestLevel(viewing.interest_level)
        if feedback_visible and viewing.interest_level
        else None,
        feedback_at=viewing.feedback_at if feedback_visible else None,
        created_at=viewing.created_at,
        applicant_contact_id=viewing.applicant_contact_id,
    )


def offer_view(offer: Offer) -> p.OfferView:
    return p.OfferView(
        id=offer.id,
        organization_id=offer.organization_id,
        property_id=offer.property_id,
        amount_minor=offer.amount_minor,
        offerer_name=offer.offerer_name,
        status=p.OfferStatus(offer.status),
        received_at=offer.received_at,
        updated_at=offer.updated_at,
        offerer_contact_id=offer.offerer_contact_id,
    )
