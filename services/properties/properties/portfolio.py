"""Customers' portfolios (Uptick): properties in client groups, and what a customer sees of them.

A property is in at most one client group (`properties.client_group_id`); the groups, their parents
and the customers authorised on each belong to the contacts service. A customer's read names the
contact of the verified membership; this service asks contacts which groups that contact is
authorised on, with every group below each (`get_contact_client_groups`), on every read, and shows
only properties in those groups: any other property is NotFound, as if it did not exist. Asking
here rather than trusting group ids from the gateway keeps the rule in one place, beside the data it
guards, with the same one input (the contact) as every other portal read.

The maintenance figures are those of the requests tenants made on the properties' leases: requests
hang off a lease, and a property without leases has none. Defects staff record on a property
(`defects.py`) need no lease: the property list counts the open ones and a property's page lists
them, behind the same portfolio check. Its pure rules are `rules/portfolio.py` (rules live in
`rules/`, one module per sub-domain named like the use-case module that applies it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from properties import defects
from properties.maintenance import requests_in_org
from properties.models import Lease, MaintenanceRequest, Property, Unit
from properties.rules import portfolio as rules
from properties.rules.maintenance import OPEN_STATUSES
from properties.scoping import ContactsRpc, property_in_org, require_editor
from properties.views import address, maintenance_summary, property_view
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.errors import NotFound

# The requests a customer's property page lists, newest first.
PROPERTY_REQUESTS_LIMIT = 200


# --- staff: which group a property is in ------------------------------------------------------


def client_group_in_org(contacts: ContactsRpc, org_id: UUID, client_group_id: UUID) -> None:
    """NotFound unless the organization has this client group (the contacts service's)."""
    try:
        contacts.call(
            c.GET_CLIENT_GROUP, c.GetClientGroup(organization_id=org_id, client_group_id=client_group_id)
        )
    except NotFound:
        raise NotFound(
            "no such client group in this organization", {"client_group_id": str(client_group_id)}
        ) from None


def assign_client_group(session: Session, contacts: ContactsRpc, cmd: p.AssignClientGroup) -> p.PropertyView:
    """Put the property in a group of the organization (NotFound for another organization's group),
    or take it out of its group."""
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    prop = property_in_org(session, org_id, cmd.property_id)
    if cmd.client_group_id is not None:
        client_group_in_org(contacts, org_id, cmd.client_group_id)
    if prop.client_group_id != cmd.client_group_id:
        prop.client_group_id = cmd.client_group_id
        session.commit()
    return property_view(prop)


def list_client_group_properties(
    session: Session, contacts: ContactsRpc, q: p.ListClientGroupProperties
) -> p.PropertyPage:
    """The properties in a group of the organization (NotFound for a group it does not have)."""
    client_group_in_org(contacts, q.organization_id, q.client_group_id)
    rows = session.scalars(
        select(Property)
        .where(Property.organization_id == q.organization_id, Property.client_group_id == q.client_group_id)
        .options(selectinload(Property.units), selectinload(Property.contacts))
        .order_by(Property.name, Property.id)
    ).all()
    return p.PropertyPage(
        items=[property_view(row) for row in rows], total=len(rows), limit=len(rows), offset=0
    )


# --- customers --------------------------------------------------------------------------------


def customer_portfolios(contacts: ContactsRpc, organization_id: UUID, contact_id: UUID) -> list[c.Portfolio]:
    answer: c.ContactClientGroups = contacts.call(
        c.GET_CONTACT_CLIENT_GROUPS,
        c.GetContactClientGroups(organization_id=organization_id, contact_id=contact_id),
    )
    return answer.portfolios


def _group(ref: c.ClientGroupRef) -> p.PortfolioGroup:
    return p.PortfolioGroup(client_group_id=ref.id, name=ref.name, parent_id=ref.parent_id)


def _open_counts(session: Session, property_ids: list[UUID]) -> dict[UUID, int]:
    if not property_ids:
        return {}
    rows = session.execute(
        _property_requests(property_ids)
        .with_only_columns(Unit.property_id, func.count())
        .where(MaintenanceRequest.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(Unit.property_id)
    ).all()
    return {property_id: count for property_id, count in rows}


def _property_requests(property_ids: list[UUID]) -> Any:
    """The requests on the leases of these properties (each property checked by the caller)."""
    return (
        select(MaintenanceRequest)
        .join(Lease, Lease.id == MaintenanceRequest.lease_id)
        .join(Unit, Unit.id == Lease.unit_id)
        .where(Unit.property_id.in_(property_ids))
    )


def _portfolio_property(
    prop: Property, group_names: dict[UUID, str], open_requests: int, open_defects: int = 0
) -> p.PortfolioProperty:
    assert prop.client_group_id is not None  # only grouped properties are read here
    return p.PortfolioProperty(
        property_id=prop.id,
        property_name=prop.name,
        address=address(prop),
        client_group_id=prop.client_group_id,
        client_group_name=group_names[prop.client_group_id],
        open_requests=open_requests,
        open_defects=open_defects,
    )


def get_customer_portfolio(
    session: Session, contacts: ContactsRpc, q: p.GetCustomerPortfolio, today: date
) -> p.CustomerPortfolio:
    """One of the contact's portfolios (their first by default): its properties, each with its open
    requests, the open requests by status and the requests made in each of the last 12 months."""
    portfolios = customer_portfolios(contacts, q.organization_id, q.contact_id)
    choices = [_group(portfolio.group) for portfolio in portfolios]
    if q.client_group_id is not None:
        current = next((x for x in portfolios if x.group.id == q.client_group_id), None)
        if current is None:
            raise NotFound("no such portfolio")
    else:
        current = portfolios[0] if portfolios else None
    months = rules.last_months(today)
    if current is None:
        return p.CustomerPortfolio(
            contact_id=q.contact_id,
            portfolios=choices,
            current=None,
            groups=[],
            properties=[],
            open_by_status=[p.StatusCount(status=status, count=0) for status in OPEN_STATUSES],
            requests_by_month=[p.MonthCount(month=month, count=0) for month in months],
            as_of=today,
        )
    names = {group.id: group.name for group in current.groups}
    props = session.scalars(
        select(Property)
        .where(Property.organization_id == q.organization_id, Property.client_group_id.in_(list(names)))
        .order_by(Property.name, Property.id)
    ).all()
    property_ids = [prop.id for prop in props]
    open_counts = _open_counts(session, property_ids)
    defect_counts = defects.open_defect_counts(session, property_ids)
    by_status: dict[str, int] = {}
    by_month: dict[date, int] = {}
    if property_ids:
        requests = _property_requests(property_ids).where(
            MaintenanceRequest.organization_id == q.organization_id
        )
        by_status = dict(
            session.execute(
                requests.with_only_columns(MaintenanceRequest.status, func.count()).group_by(
                    MaintenanceRequest.status
                )
            ).all()
        )
        month = func.date_trunc("month", func.timezone("UTC", MaintenanceRequest.created_at))
        since = datetime.combine(months[0], datetime.min.time(), tzinfo=UTC)
        by_month = {
            started.date(): count
            for started, count in session.execute(
                requests.with_only_columns(month, func.count())
                .where(MaintenanceRequest.created_at >= since)
                .group_by(month)
            ).all()
        }
    return p.CustomerPortfolio(
        contact_id=q.contact_id,
        portfolios=choices,
        current=_group(current.group),
        groups=[_group(group) for group in current.groups],
        properties=[
            _portfolio_property(prop, names, open_counts.get(prop.id, 0), defect_counts.get(prop.id, 0))
            for prop in props
        ],
        open_by_status=[
            p.StatusCount(status=status, count=by_status.get(status.value, 0)) for status in OPEN_STATUSES
        ],
        requests_by_month=[
            p.MonthCount(month=first, count=count) for first, count in rules.month_series(by_month, today)
        ],
        as_of=today,
    )


def get_customer_property(
    session: Session, contacts: ContactsRpc, q: p.GetCustomerProperty
) -> p.CustomerProperty:
    """A property in one of the contact's portfolios with the requests on its leases and the
    defects staff recorded on it; NotFound for any other, whichever check failed."""
    prop = session.scalars(
        select(Property).where(Property.id == q.property_id, Property.organization_id == q.organization_id)
    ).first()
    if prop is None or prop.client_group_id is None:
        raise NotFound("no such property")
    names = {
        group.id: group.name
        for portfolio in customer_portfolios(contacts, q.organization_id, q.contact_id)
        for group in portfolio.groups
    }
    if prop.client_group_id not in names:
        raise NotFound("no such property")
    rows = session.execute(
        requests_in_org(q.organization_id)
        .where(Property.id == prop.id)
        .order_by(MaintenanceRequest.created_at.desc(), MaintenanceRequest.id.desc())
        .limit(PROPERTY_REQUESTS_LIMIT)
    ).all()
    open_defects, resolved_defects = defects.customer_defects(session, prop.id)
    return p.CustomerProperty(
        property=_portfolio_property(
            prop, names, _open_counts(session, [prop.id]).get(prop.id, 0), len(open_defects)
        ),
        requests=[
            maintenance_summary(request, unit_name, property_name)
            for request, unit_name, property_name in rows
        ],
        open_defects=open_defects,
        resolved_defects=resolved_defects,
    )
