"""Use cases of a property's viewings, their feedback, and its offers, and of what a landlord,
vendor or applicant linked to the property reads of them. Every query is scoped by the caller's
organization; an applicant named on a viewing or offer is asked of the contacts service. Its pure
rules are `rules/viewings.py` (rules live in `rules/`, one module per sub-domain named like the
use-case module that applies it)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from properties import progress
from properties.models import Offer, Property, PropertyContact, Viewing
from properties.rules import viewings as rules
from properties.rules.estate import CONTACT_TYPE_FOR_ROLE
from properties.scoping import ContactsRpc, contact_to_link, property_id_in_org, refuse, require_editor
from properties.views import address, offer_view, viewing_view
from properties.visibility import visibility_of
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import Conflict, NotFound


def _check_applicant(
    contacts: ContactsRpc, organization_id: UUID, contact_id: UUID | None, field: str
) -> None:
    """A viewing's or offer's applicant contact must be an applicant of the organization, not
    archived: NotFound for another organization's (or no) contact, InvalidInput otherwise."""
    if contact_id is None:
        return
    problem = contact_to_link(
        contacts, organization_id, contact_id, field, ContactType.APPLICANT, f"named as {field.split('.')[0]}"
    )
    refuse([problem] if problem else [])


def create_viewing(session: Session, contacts: ContactsRpc, cmd: p.CreateViewing) -> p.ViewingView:
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    property_id = property_id_in_org(session, org_id, cmd.property_id)
    _check_applicant(contacts, org_id, cmd.viewing.applicant_contact_id, "viewing.applicant_contact_id")
    viewing = Viewing(
        organization_id=org_id,
        property_id=property_id,
        scheduled_at=cmd.viewing.scheduled_at,
        applicant_name=cmd.viewing.applicant_name,
        applicant_contact_id=cmd.viewing.applicant_contact_id,
        status=cmd.viewing.status.value,
        created_by_staff_member_id=cmd.actor.staff_member_id,
    )
    session.add(viewing)
    session.commit()
    return viewing_view(viewing)


def _locked_viewing(session: Session, organization_id: UUID, viewing_id: UUID) -> Viewing:
    viewing = session.scalars(
        select(Viewing)
        .where(Viewing.id == viewing_id, Viewing.organization_id == organization_id)
        .with_for_update()
    ).first()
    if viewing is None:
        raise NotFound("no such viewing")
    return viewing


def update_viewing_status(session: Session, cmd: p.UpdateViewingStatus) -> p.ViewingView:
    """Mark a booked viewing done or cancelled (`rules.viewing_status_problem`), under its row
    lock."""
    require_editor(cmd.actor)
    viewing = _locked_viewing(session, cmd.actor.organization_id, cmd.viewing_id)
    current = p.ViewingStatus(viewing.status)
    problem = rules.viewing_status_problem(current, cmd.status)
    if problem:
        raise Conflict(problem[0].upper() + problem[1:] + ".", {"status": current.value})
    viewing.status = cmd.status.value
    session.commit()
    return viewing_view(viewing)


def record_viewing_feedback(session: Session, cmd: p.RecordViewingFeedback, now: datetime) -> p.ViewingView:
    """Staff record (or correct) what the applicant said; a booked viewing is then done."""
    require_editor(cmd.actor)
    viewing = _locked_viewing(session, cmd.actor.organization_id, cmd.viewing_id)
    status = p.ViewingStatus(viewing.status)
    problem = rules.feedback_problem(status)
    if problem:
        raise Conflict(problem[0].upper() + problem[1:] + ".", {"status": status.value})
    viewing.feedback = cmd.feedback
    viewing.interest_level = cmd.interest_level.value if cmd.interest_level else None
    viewing.feedback_at = now
    viewing.feedback_by_staff_member_id = cmd.actor.staff_member_id
    viewing.status = rules.status_after_feedback(status).value
    session.commit()
    return viewing_view(viewing)


def _viewings_of(
    session: Session, property_id: UUID, applicant_contact_id: UUID | None = None
) -> list[Viewing]:
    """The property's viewings, latest first; with `applicant_contact_id`, only that applicant's."""
    query = select(Viewing).where(Viewing.property_id == property_id)
    if applicant_contact_id is not None:
        query = query.where(Viewing.applicant_contact_id == applicant_contact_id)
    return list(session.scalars(query.order_by(Viewing.scheduled_at.desc(), Viewing.id)).all())


def _offers_of(session: Session, property_id: UUID, offerer_contact_id: UUID | None = None) -> list[Offer]:
    """The property's offers, latest first; with `offerer_contact_id`, only that applicant's."""
    query = select(Offer).where(Offer.property_id == property_id)
    if offerer_contact_id is not None:
        query = query.where(Offer.offerer_contact_id == offerer_contact_id)
    return list(session.scalars(query.order_by(Offer.received_at.desc(), Offer.id)).all())


def list_property_viewings(session: Session, q: p.ListPropertyViewings) -> p.ViewingList:
    property_id = property_id_in_org(session, q.organization_id, q.property_id)
    return p.ViewingList(items=[viewing_view(viewing) for viewing in _viewings_of(session, property_id)])


def create_offer(session: Session, contacts: ContactsRpc, cmd: p.CreateOffer, now: datetime) -> p.OfferView:
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    property_id = property_id_in_org(session, org_id, cmd.property_id)
    _check_applicant(contacts, org_id, cmd.offer.offerer_contact_id, "offer.offerer_contact_id")
    offer = Offer(
        organization_id=org_id,
        property_id=property_id,
        amount_minor=cmd.offer.amount_minor,
        offerer_name=cmd.offer.offerer_name,
        offerer_contact_id=cmd.offer.offerer_contact_id,
        status=p.OfferStatus.RECEIVED.value,
        received_at=cmd.offer.received_at or now,
        created_by_staff_member_id=cmd.actor.staff_member_id,
        updated_at=now,
    )
    session.add(offer)
    session.commit()
    return offer_view(offer)


def update_offer_status(session: Session, cmd: p.UpdateOfferStatus, now: datetime) -> p.OfferView:
    """Accept, reject or withdraw an offer (`rules.offer_status_problem`), under its row lock."""
    require_editor(cmd.actor)
    offer = session.scalars(
        select(Offer)
        .where(Offer.id == cmd.offer_id, Offer.organization_id == cmd.actor.organization_id)
        .with_for_update()
    ).first()
    if offer is None:
        raise NotFound("no such offer")
    current = p.OfferStatus(offer.status)
    problem = rules.offer_status_problem(current, cmd.status)
    if problem:
        raise Conflict(
            problem[0].upper() + problem[1:] + ".",
            {"status": current.value, "allowed": sorted(s.value for s in rules.OFFER_MOVES[current])},
        )
    offer.status = cmd.status.value
    offer.updated_at = now
    session.commit()
    return offer_view(offer)


def list_property_offers(session: Session, q: p.ListPropertyOffers) -> p.OfferList:
    property_id = property_id_in_org(session, q.organization_id, q.property_id)
    return p.OfferList(items=[offer_view(offer) for offer in _offers_of(session, property_id)])


def get_contact_property_activity(
    session: Session, q: p.GetContactPropertyActivity, today: date
) -> p.PropertyActivity:
    """A landlord's, vendor's or applicant's view of a property they are linked to: NotFound unless
    `q.contact_id` is linked to it in the organization. Viewing feedback is left out unless the
    visibility rules, read now (no caching: a change holds from the next read), show it.

    What each role reads is decided here, not in the page: a landlord and a vendor read every
    viewing and offer and the sale or letting progress; only a landlord reads the tenancies of the
    property's units (unit, dates, state: never a tenant's email or statement); an applicant reads
    only the viewings they booked and the offers they made (their contact named on them), and no
    progress."""
    row = session.execute(
        select(PropertyContact, Property)
        .join(Property, Property.id == PropertyContact.property_id)
        .where(
            PropertyContact.property_id == q.property_id,
            PropertyContact.contact_id == q.contact_id,
            Property.organization_id == q.organization_id,
        )
        .order_by(PropertyContact.role)
    ).first()
    if row is None:
        raise NotFound("no such property")
    link, prop = row
    role = p.PropertyRole(link.role)
    # The contact's type is the one its role needs: `link_contact` refuses any other.
    contact_type = CONTACT_TYPE_FOR_ROLE[role]
    decision = visibility_of(
        session, q.organization_id, p.VisibilitySubject.VIEWING_FEEDBACK, contact_type, q.contact_id, prop
    )
    applicant = q.contact_id if role == p.PropertyRole.APPLICANT else None
    return p.PropertyActivity(
        property=p.PropertyLink(
            property_id=prop.id, property_name=prop.name, address=address(prop), role=role, active=True
        ),
        feedback_visible=decision.visible,
        viewings=[
            viewing_view(viewing, decision.visible) for viewing in _viewings_of(session, prop.id, applicant)
        ],
        offers=[offer_view(offer) for offer in _offers_of(session, prop.id, applicant)],
        progress=None if applicant else progress.progress_of(session, prop.id),
        tenancies=progress.tenancies_of(session, q.organization_id, prop.id, today)
        if role == p.PropertyRole.LANDLORD
        else [],
    )
