from shared.green import patch

patch()  # before anything imports SQLAlchemy, psycopg or kombu

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from contacts.service import ContactsService  # noqa: E402
from contacts.settings import ContactsSettings  # noqa: E402
from shared.contracts import contacts as c  # noqa: E402
from shared.testing.containers import container_factory  # noqa: E402,F401 - a fixture
from shared.testing.fixtures import infra  # noqa: E402,F401 - a fixture
from shared.testing.helpers import ADMIN_PASSWORD, hook_caller, random_email, random_name  # noqa: E402


@pytest.fixture
def settings(infra) -> ContactsSettings:  # noqa: F811
    # Every test of a run calls from no client address, so they would share one client's bound;
    # the tests of the throttle (test_sign_in_throttle.py) set their own.
    return ContactsSettings(**infra.settings_overrides(), throttle_client_burst=100_000)


@pytest.fixture
def contacts(container_factory, settings):  # noqa: F811
    container = container_factory(ContactsService, settings.nameko_config())
    container.start()
    return container


@pytest.fixture
def call(contacts) -> Callable[..., Any]:
    return hook_caller(contacts)


@pytest.fixture
def org(call) -> c.OrganizationCreated:
    return call(
        c.CREATE_ORGANIZATION,
        c.CreateOrganization(
            name=random_name("Org"),
            admin_email=random_email("admin"),
            admin_name="Ada Admin",
            admin_password=ADMIN_PASSWORD,
        ),
    )
