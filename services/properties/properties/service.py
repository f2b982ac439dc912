"""nameko entrypoints of the properties service: each parses its payload and calls one handler."""

from __future__ import annotations

from typing import Any

from properties import handlers
from properties.models import outbox
from shared.contracts import properties as p
from shared.contracts.common import utc_now
from shared.contracts.errors import ServiceError
from shared.contracts.validation import parse
from shared.messaging import ServiceRpc, rpc
from shared.providers import Database, HealthCheck, OutboxRelay

Json = dict[str, Any]
expected = {"expected_exceptions": ServiceError}


class PropertiesService(HealthCheck):
    """Owns properties (name, address), their units, leases of units with their tenants
    (co-tenants are several parties of one lease), what the tenants owe on each lease (charges and
    payments), the maintenance requests tenants make on a lease with their status history, and the
    landlords and vendors linked to a property, with the property's viewings (and their feedback) and
    offers, and the visibility settings that decide who sees viewing feedback. Contacts themselves
    belong to the contacts service, which is asked before linking."""

    name = "properties"

    db = Database()
    contacts_rpc = ServiceRpc()
    relay = OutboxRelay(outbox)

    @rpc(**expected)
    def create_property(self, payload: Json) -> Json:
        cmd = parse(p.CreateProperty, payload)
        return handlers.create_property(self.db, cmd).model_dump(mode="json")

    @rpc(**expected)
    def add_unit(self, payload: Json) -> Json:
        return handlers.add_unit(self.db, parse(p.AddUnit, payload)).model_dump(mode="json")

    @rpc(**expected)
    def create_lease(self, payload: Json) -> Json:
        cmd = parse(p.CreateLease, payload)
        return handlers.create_lease(self.db, self.contacts_rpc, cmd).model_dump(mode="json")

    @rpc(**expected)
    def end_lease(self, payload: Json) -> Json:
        return handlers.end_lease(self.db, parse(p.EndLease, payload)).model_dump(mode="json")

    @rpc(**expected)
    def link_contact(self, payload: Json) -> Json:
        cmd = parse(p.LinkContact, payload)
        return handlers.link_contact(self.db, self.contacts_rpc, cmd).model_dump(mode="json")

    @rpc(**expected)
    def get_property(self, payload: Json) -> Json:
        return handlers.get_property(self.db, parse(p.GetProperty, payload)).model_dump(mode="json")

    @rpc(**expected)
    def list_properties(self, payload: Json) -> Json:
        return handlers.list_properties(self.db, parse(p.ListProperties, payload)).model_dump(mode="json")

    @rpc(**expected)
    def get_contact_links(self, payload: Json) -> Json:
        q = parse(p.GetContactLinks, payload)
        return handlers.get_contact_links(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def get_contact_links_many(self, payload: Json) -> Json:
        q = parse(p.GetContactLinksMany, payload)
        return handlers.get_contact_links_many(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def add_charge(self, payload: Json) -> Json:
        return handlers.add_charge(self.db, parse(p.AddCharge, payload)).model_dump(mode="json")

    @rpc(**expected)
    def record_payment(self, payload: Json) -> Json:
        cmd = parse(p.RecordPayment, payload)
        return handlers.record_payment(self.db, cmd, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def get_lease_statement(self, payload: Json) -> Json:
        q = parse(p.GetLeaseStatement, payload)
        return handlers.get_lease_statement(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def get_party_lease_statement(self, payload: Json) -> Json:
        q = parse(p.GetPartyLeaseStatement, payload)
        return handlers.get_party_lease_statement(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def create_maintenance_request(self, payload: Json) -> Json:
        cmd = parse(p.CreateMaintenanceRequest, payload)
        return handlers.create_maintenance_request(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def update_maintenance_status(self, payload: Json) -> Json:
        cmd = parse(p.UpdateMaintenanceStatus, payload)
        return handlers.update_maintenance_status(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def list_maintenance_requests(self, payload: Json) -> Json:
        q = parse(p.ListMaintenanceRequests, payload)
        return handlers.list_maintenance_requests(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_maintenance_request(self, payload: Json) -> Json:
        q = parse(p.GetMaintenanceRequest, payload)
        return handlers.get_maintenance_request(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def list_party_maintenance_requests(self, payload: Json) -> Json:
        q = parse(p.ListPartyMaintenanceRequests, payload)
        return handlers.list_party_maintenance_requests(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_party_maintenance_request(self, payload: Json) -> Json:
        q = parse(p.GetPartyMaintenanceRequest, payload)
        return handlers.get_party_maintenance_request(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def create_viewing(self, payload: Json) -> Json:
        return handlers.create_viewing(self.db, parse(p.CreateViewing, payload)).model_dump(mode="json")

    @rpc(**expected)
    def record_viewing_feedback(self, payload: Json) -> Json:
        cmd = parse(p.RecordViewingFeedback, payload)
        return handlers.record_viewing_feedback(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def update_viewing_status(self, payload: Json) -> Json:
        cmd = parse(p.UpdateViewingStatus, payload)
        return handlers.update_viewing_status(self.db, cmd).model_dump(mode="json")

    @rpc(**expected)
    def list_property_viewings(self, payload: Json) -> Json:
        q = parse(p.ListPropertyViewings, payload)
        return handlers.list_property_viewings(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def create_offer(self, payload: Json) -> Json:
        cmd = parse(p.CreateOffer, payload)
        return handlers.create_offer(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def update_offer_status(self, payload: Json) -> Json:
        cmd = parse(p.UpdateOfferStatus, payload)
        return handlers.update_offer_status(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def list_property_offers(self, payload: Json) -> Json:
        q = parse(p.ListPropertyOffers, payload)
        return handlers.list_property_offers(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_contact_property_activity(self, payload: Json) -> Json:
        q = parse(p.GetContactPropertyActivity, payload)
        return handlers.get_contact_property_activity(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def set_visibility(self, payload: Json) -> Json:
        cmd = parse(p.SetVisibility, payload)
        return handlers.set_visibility(self.db, self.contacts_rpc, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def explain_visibility(self, payload: Json) -> Json:
        q = parse(p.ExplainVisibility, payload)
        return handlers.explain_visibility(self.db, self.contacts_rpc, q).model_dump(mode="json")
