from shared.green import patch

patch()  # before anything imports SQLAlchemy, psycopg or kombu

from dataclasses import dataclass  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from contacts.service import ContactsService  # noqa: E402
from invitations.service import InvitationsService  # noqa: E402
from invitations.settings import InvitationsSettings  # noqa: E402
from properties.service import PropertiesService  # noqa: E402
from properties.settings import PropertiesSettings  # noqa: E402
from shared.contracts import contacts as c  # noqa: E402
from shared.contracts import properties as p  # noqa: E402
from shared.contracts.common import ContactType, StaffActor  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402
from shared.testing.containers import container_factory  # noqa: E402,F401 - a fixture
from shared.testing.fixtures import infra  # noqa: E402,F401 - a fixture
from shared.testing.helpers import (  # noqa: E402
    ADMIN_PASSWORD,
    actor,
    hook_caller,
    random_email,
    random_name,
    rpc_over_broker,
)


@pytest.fixture
def settings(infra) -> InvitationsSettings:  # noqa: F811
    return InvitationsSettings(
        **infra.settings_overrides(),
        public_base_url="https://portal.example.com",
        resend_cooldown_seconds=0,
        expiry_sweep_seconds=0.2,
        reset_poll_seconds=0.1,
        bulk_poll_seconds=0.1,
        # Every test of a run calls from no client address, so they would share one client's
        # bound; the tests of the throttle (test_credential_throttle.py) set their own.
        throttle_client_burst=100_000,
    )


@dataclass
class Org:
    created: c.OrganizationCreated

    @property
    def id(self) -> Any:
        return self.created.organization.id

    @property
    def actor(self) -> StaffActor:
        return actor(self.created)


def properties_config(settings: InvitationsSettings) -> dict[str, Any]:
    """The properties service's own settings, on the same database and broker."""
    common = settings.model_dump(include=set(ServiceSettings.model_fields))
    return PropertiesSettings(**common, lease_end_sweep_seconds=0.2).nameko_config()


class Platform:
    """The contacts, properties and invitations services, running, with helpers to make data."""

    def __init__(self, container_factory: Any, settings: InvitationsSettings) -> None:  # noqa: F811
        self.settings = settings
        self.containers = {}
        for cls in (ContactsService, PropertiesService, InvitationsService):
            config = properties_config(settings) if cls is PropertiesService else settings.nameko_config()
            container = container_factory(cls, config)
            container.start()
            self.containers[cls.name] = container
        self.contacts = hook_caller(self.containers["contacts"])
        self.properties = hook_caller(self.containers["properties"])
        self.invitations = hook_caller(self.containers["invitations"])
        self.over_broker = rpc_over_broker(settings.nameko_config())

    def new_org(self) -> Org:
        return Org(
            self.contacts(
                c.CREATE_ORGANIZATION,
                c.CreateOrganization(
                    name=random_name("Org"),
                    admin_email=random_email("admin"),
                    admin_name="Ada Admin",
                    admin_password=ADMIN_PASSWORD,
                ),
            )
        )

    def contact(self, org: Org, contact_type: ContactType = ContactType.TENANT, email: str | None = None):
        return self.contacts(
            c.CREATE_CONTACT,
            c.CreateContact(
                actor=org.actor,
                contact=c.NewContact(
                    type=contact_type,
                    first_name="Tess",
                    last_name=random_name("Tenant"),
                    email=email or random_email("tenant"),
                ),
            ),
        )

    def tenant_with_lease(self, org: Org, email: str | None = None, start: date | None = None):
        tenant = self.contact(org, ContactType.TENANT, email)
        prop = self.properties(
            p.CREATE_PROPERTY,
            p.CreateProperty(
                actor=org.actor,
                property=p.NewProperty(
                    name=random_name("House"), address_line1="1 Elm Street", city="London", postcode="N1 1AA"
                ),
            ),
        )
        unit = self.properties(p.ADD_UNIT, p.AddUnit(actor=org.actor, property_id=prop.id, name="Flat 1"))
        self.properties(
            p.CREATE_LEASE,
            p.CreateLease(
                actor=org.actor,
                unit_id=unit.id,
                start_date=start or date.today() - timedelta(days=30),
                tenant_contact_ids=[tenant.id],
            ),
        )
        return tenant


@pytest.fixture
def make_platform(container_factory):  # noqa: F811
    return lambda settings: Platform(container_factory, settings)


@pytest.fixture
def platform(make_platform, settings) -> Platform:
    return make_platform(settings)
