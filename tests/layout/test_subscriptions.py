"""Each subscription is declared once, in `shared.topology`: the services' event handlers are built
from those declarations, and every declaration has its handler."""

from __future__ import annotations

import inspect

import pytest
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from contacts.service import ContactsService
from invitations.service import InvitationsService
from notifications.service import NotificationsService
from properties.service import PropertiesService
from shared.messaging import ReliableEventHandler
from shared.topology import SUBSCRIPTIONS, Subscription

SERVICES = (ContactsService, PropertiesService, InvitationsService, NotificationsService)


def event_handlers(service: type) -> dict[str, Subscription]:
    """Each method of the service that handles events, with the subscription it was given."""
    found = {}
    for name, method in inspect.getmembers(service, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if not isinstance(entrypoint, EventHandler):
                continue
            assert isinstance(entrypoint, ReliableEventHandler), (
                f"{service.name}.{name} is a plain nameko handler"
            )
            found[name] = entrypoint.subscription
    return found


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_each_event_handler_takes_the_subscription_declared_for_it(service: type) -> None:
    handlers = event_handlers(service)
    assert {(service.name, name) for name in handlers} == {
        (sub.service, sub.method) for sub in handlers.values()
    }
    assert set(handlers.values()) == {sub for sub in SUBSCRIPTIONS if sub.service == service.name}


def test_every_subscription_has_a_handler_and_one_queue() -> None:
    handled = {sub for service in SERVICES for sub in event_handlers(service).values()}
    assert handled == set(SUBSCRIPTIONS)
    assert len({sub.queue for sub in SUBSCRIPTIONS}) == len(SUBSCRIPTIONS)
