from shared.green import patch

patch()  # before anything imports SQLAlchemy, psycopg or kombu

import pytest  # noqa: E402

from notifications.service import NotificationsService  # noqa: E402
from notifications.settings import NotificationsSettings  # noqa: E402
from shared.testing.containers import container_factory  # noqa: E402,F401 - a fixture
from shared.testing.fixtures import infra  # noqa: E402,F401 - a fixture
from shared.testing.helpers import EventCollector  # noqa: E402


@pytest.fixture
def settings(infra) -> NotificationsSettings:  # noqa: F811
    return NotificationsSettings(**infra.settings_overrides())


@pytest.fixture
def notifications(container_factory, settings):  # noqa: F811
    container = container_factory(NotificationsService, settings.nameko_config())
    container.start()
    return container


@pytest.fixture
def events(settings):
    collector = EventCollector(
        settings.amqp_uri, "notifications", ["delivery_queued", "delivery_succeeded", "delivery_failed"]
    )
    yield collector
    collector.close()
