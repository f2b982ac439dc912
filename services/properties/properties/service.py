"""nameko entrypoints of the properties service: each parses its payload and calls one handler."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from properties import handlers
from properties.models import outbox
from shared.contracts import properties as p
from shared.contracts.common import utc_now
from shared.contracts.errors import ServiceError
from shared.contracts.validation import parse
from shared.messaging import ServiceRpc
from shared.providers import Database, HealthCheck, OutboxRelay

Json = dict[str, Any]
expected = {"expected_exceptions": ServiceError}


class PropertiesService(HealthCheck):
    """Owns properties (name, address), their units, leases of units with their tenants
    (co-tenants are several parties of one lease), and the landlords and vendors linked to a
    property. Contacts themselves belong to the contacts service, which is asked before linking."""

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
