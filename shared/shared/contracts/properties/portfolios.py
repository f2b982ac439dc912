"""Customers' portfolios (Uptick): properties in client groups, and what a customer sees of them."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from shared.contracts.common import Request, RpcMethod, StaffActor, View
from shared.contracts.properties.defects import CustomerDefect
from shared.contracts.properties.maintenance import MaintenanceRequestSummary, MaintenanceStatus
from shared.contracts.properties.property_records import PropertyPage, PropertyView


class AssignClientGroup(Request):
    """Staff put a property in a client group of the organization (a property is in at most one,
    so this moves it out of any other), or take it out of its group (`client_group_id` null)."""

    actor: StaffActor
    property_id: UUID
    client_group_id: UUID | None


class ListClientGroupProperties(Request):
    """Staff list the properties in one client group (not those of the groups below it). NotFound
    for a group the organization does not have (asked of the contacts service)."""

    organization_id: UUID
    client_group_id: UUID


class GetCustomerPortfolio(Request):
    """A customer reads one of their portfolios as `contact_id` (from their verified membership):
    the client group `client_group_id` they are an authorised account of (None: their first) with
    every group below it. NotFound for a group they are not authorised on."""

    organization_id: UUID
    contact_id: UUID
    client_group_id: UUID | None = None


class GetCustomerProperty(Request):
    """A customer reads one property of their portfolios, as `contact_id`: NotFound unless it is in
    a group they are authorised on or in a group below one."""

    organization_id: UUID
    contact_id: UUID
    property_id: UUID


class PortfolioGroup(View):
    client_group_id: UUID
    name: str
    parent_id: UUID | None


class PortfolioProperty(View):
    property_id: UUID
    property_name: str
    address: str
    client_group_id: UUID
    client_group_name: str
    # Maintenance requests on the property's leases not yet completed or cancelled.
    open_requests: int
    # Defects staff recorded on the property that are still open (`defects.py`).
    open_defects: int = 0


class StatusCount(View):
    status: MaintenanceStatus
    count: int


class MonthCount(View):
    # The first day of the month (UTC).
    month: date
    count: int


class CustomerPortfolio(View):
    """A customer's portfolio: its properties with their open maintenance requests, and the
    dashboard's figures. `portfolios` are every group the contact is authorised on (the switcher);
    `current` the one shown, None when there is none."""

    contact_id: UUID
    portfolios: list[PortfolioGroup]
    current: PortfolioGroup | None
    # The current group first, then every group below it.
    groups: list[PortfolioGroup]
    properties: list[PortfolioProperty]
    # Open requests by status, every open status in order (zeros too).
    open_by_status: list[StatusCount]
    # Requests made in each of the last 12 months (UTC), oldest first, this month last.
    requests_by_month: list[MonthCount]
    as_of: date


class CustomerProperty(View):
    """One property of a customer's portfolios and the maintenance requests on its leases, newest
    first (open and closed)."""

    property: PortfolioProperty
    requests: list[MaintenanceRequestSummary]
    # Defects staff recorded on the property: open ones (newest found first), then resolved ones
    # (latest resolved first).
    open_defects: list[CustomerDefect] = Field(default_factory=list)
    resolved_defects: list[CustomerDefect] = Field(default_factory=list)


ASSIGN_CLIENT_GROUP = RpcMethod("properties", "assign_client_group", AssignClientGroup, PropertyView)
LIST_CLIENT_GROUP_PROPERTIES = RpcMethod(
    "properties", "list_client_group_properties", ListClientGroupProperties, PropertyPage
)
GET_CUSTOMER_PORTFOLIO = RpcMethod(
    "properties", "get_customer_portfolio", GetCustomerPortfolio, CustomerPortfolio
)
GET_CUSTOMER_PROPERTY = RpcMethod(
    "properties", "get_customer_property", GetCustomerProperty, CustomerProperty
)
