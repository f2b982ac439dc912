from shared.green import patch

patch()  # before anything imports SQLAlchemy, psycopg or kombu

from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from nameko.testing.services import entrypoint_hook  # noqa: E402

from contacts.service import ContactsService  # noqa: E402
from contacts.settings import ContactsSettings  # noqa: E402
from properties.service import PropertiesService  # noqa: E402
from properties.settings import PropertiesSettings  # noqa: E402
from shared.contracts import contacts as c  # noqa: E402
from shared.contracts import properties as p  # noqa: E402
from shared.contracts.common import ContactType, RpcMethod  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402
from shared.testing.containers import container_factory  # noqa: E402,F401 - a fixture
from shared.testing.fixtures import infra  # noqa: E402,F401 - a fixture
from shared.testing.helpers import ADMIN_PASSWORD, actor, random_email, random_name  # noqa: E402


@pytest.fixture
def settings(infra) -> PropertiesSettings:  # noqa: F811
    return PropertiesSettings(**infra.settings_overrides(), lease_end_sweep_seconds=0.2)


@pytest.fixture
def containers(container_factory, settings) -> dict[str, Any]:  # noqa: F811
    """The properties service and the contacts service it asks about contacts, on one broker."""
    config = settings.nameko_config()
    contacts_settings = ContactsSettings(**settings.model_dump(include=set(ServiceSettings.model_fields)))
    running = {
        "contacts": container_factory(ContactsService, contacts_settings.nameko_config()),
        "properties": container_factory(PropertiesService, config),
    }
    for container in running.values():
        container.start()
    return running


@pytest.fixture
def call(containers) -> Callable[..., Any]:
    """Run one RPC method of either service in a real worker of that service, with its contract
    models."""

    def call(method: RpcMethod, request: Any) -> Any:
        with entrypoint_hook(containers[method.service], method.name) as hook:
            return method.response.model_validate(hook(request.model_dump(mode="json", exclude_unset=True)))

    return call


def new_organization(call: Callable[..., Any]) -> c.OrganizationCreated:
    return call(
        c.CREATE_ORGANIZATION,
        c.CreateOrganization(
            name=random_name("Org"),
            admin_email=random_email("admin"),
            admin_name="Ada Admin",
            admin_password=ADMIN_PASSWORD,
        ),
    )


@pytest.fixture
def org(call) -> c.OrganizationCreated:
    return new_organization(call)


@pytest.fixture
def other_org(call) -> c.OrganizationCreated:
    return new_organization(call)


@dataclass
class Maker:
    """Makes an organization's contacts and leases through the services' own RPC methods, each with
    random names so tests never collide."""

    call: Callable[..., Any]
    org: c.OrganizationCreated

    @property
    def organization_id(self) -> Any:
        return self.org.organization.id

    def actor(self) -> Any:
        return actor(self.org)

    def contact(self, contact_type: ContactType = ContactType.TENANT) -> c.ContactView:
        new = c.NewContact(
            type=contact_type,
            first_name=contact_type.value.capitalize(),
            last_name=random_name("Person"),
            email=random_email(contact_type.value),
        )
        return self.call(c.CREATE_CONTACT, c.CreateContact(actor=self.actor(), contact=new))

    def lease(self, tenants: list[c.ContactView], start: date, end: date | None = None) -> p.LeaseView:
        """A lease of a new unit of a new property."""
        prop = self.call(
            p.CREATE_PROPERTY,
            p.CreateProperty(
                actor=self.actor(),
                property=p.NewProperty(
                    name=random_name("House"), address_line1="1 High Street", city="Leeds", postcode="LS1 1AA"
                ),
            ),
        )
        unit = self.call(p.ADD_UNIT, p.AddUnit(actor=self.actor(), property_id=prop.id, name="Flat 1"))
        return self.call(
            p.CREATE_LEASE,
            p.CreateLease(
                actor=self.actor(),
                unit_id=unit.id,
                start_date=start,
                end_date=end,
                tenant_contact_ids=[tenant.id for tenant in tenants],
            ),
        )


@pytest.fixture
def make(call, org) -> Maker:
    return Maker(call, org)


@pytest.fixture
def make_other(call, other_org) -> Maker:
    return Maker(call, other_org)
