"""The outbox over time, with the contacts service running on the real PostgreSQL and RabbitMQ: an
event the broker keeps refusing is parked (and shown) instead of holding up every later event of
the service, and published outbox rows and handled inbox rows are pruned after their retention,
never an event still to go out."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import text

from contacts.models import outbox
from contacts.service import ContactsService
from contacts.settings import ContactsSettings
from shared.contracts import contacts as c
from shared.contracts.common import ContactType
from shared.outbox import parked_events
from shared.testing.helpers import EventCollector, actor, random_email, random_name


def new_contact(call, org):
    contact = c.NewContact(
        type=ContactType.TENANT, first_name="Tess", last_name=random_name("Tenant"), email=random_email()
    )
    return call(c.CREATE_CONTACT, c.CreateContact(actor=actor(org), contact=contact))


def outbox_cli(settings, *args):
    return subprocess.run(
        [sys.executable, "-m", "shared.outbox", *args],
        env={**os.environ, "DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def settings(settings):
    """One contacts service (the `contacts` fixture's), whose relay parks at the second refusal:
    a second relay with another bound would count refusals of its own on the same rows."""
    return settings.model_copy(update={"outbox_max_publish_attempts": 2})


def test_an_event_the_broker_keeps_refusing_is_parked_and_the_later_ones_go_out(call, settings, infra, org):
    # A queue that takes no message and says so (reject-publish): the broker nacks every
    # contact_archived, as it would an event it cannot take.
    refusing = f"refuses-archived-{uuid.uuid4().hex[:8]}"
    with Connection(settings.amqp_uri) as conn:
        Queue(
            refusing,
            Exchange("contacts.events", type="topic", no_declare=True),
            routing_key="contact_archived",
            queue_arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
        )(conn.channel()).declare()
        collector = EventCollector(settings.amqp_uri, "contacts", ["contact_created"])
        try:
            archived = new_contact(call, org)
            collector.until(lambda _, body: body["contact"]["id"] == str(archived.id))
            call(c.ARCHIVE_CONTACT, c.ArchiveContact(actor=actor(org), contact_id=archived.id))
            later = new_contact(call, org)

            # The contact made after the refused event is announced all the same.
            collector.until(lambda _, body: body["contact"]["id"] == str(later.id), timeout=30)
        finally:
            collector.close()

    [parked] = parked_events(infra.engine, outbox)
    assert (parked.event_type, parked.attempts) == ("contact_archived", 2)
    assert "basic.nack" in parked.error
    shown = outbox_cli(settings, "parked", "contacts")
    assert f"{parked.event_id} contact_archived: refused 2 times" in shown.stdout, shown.stderr
    # Released once the cause is gone, it is published.
    with Connection(settings.amqp_uri) as conn:
        conn.channel().queue_delete(refusing)
    assert outbox_cli(settings, "release", "contacts", str(parked.event_id)).returncode == 0
    with eventlet.Timeout(15):
        while parked_events(infra.engine, outbox) or not published(infra, parked.event_id):
            eventlet.sleep(0.1)


def published(infra, event_id) -> bool:
    with infra.engine.connect() as connection:
        return connection.execute(
            text("SELECT published_at IS NOT NULL FROM contacts.outbox WHERE event_id = :id"),
            {"id": event_id},
        ).scalar_one()


@pytest.fixture
def aged_rows(infra):
    """Rows older and younger than a retention of one hour (outbox) and one day (inbox)."""
    ids = {name: uuid.uuid4() for name in ("old_sent", "new_sent", "old_parked", "old_seen", "new_seen")}
    ago = {"two_hours": timedelta(hours=2), "two_days": timedelta(days=2)}
    with infra.engine.begin() as connection:
        for name, published, parked in (
            ("old_sent", "now() - :two_hours", "NULL"),
            ("new_sent", "now()", "NULL"),
            ("old_parked", "NULL", "now() - :two_days"),
        ):
            connection.execute(
                text(
                    "INSERT INTO contacts.outbox (event_id, source, event_type, payload, created_at, "
                    f"published_at, parked_at, attempts) VALUES (:id, 'contacts', 'contact_archived', "
                    f"'{{}}', now() - :two_days, {published}, {parked}, 5)"
                ),
                {"id": ids[name], **ago},
            )
        for name, handled in (("old_seen", "now() - :two_days"), ("new_seen", "now()")):
            connection.execute(
                text(
                    f"INSERT INTO contacts.inbox (event_id, handler, handled_at) VALUES (:id, 'h', {handled})"
                ),
                {"id": ids[name], **ago},
            )
    return ids


def test_published_and_handled_rows_are_pruned_after_their_retention_and_nothing_else(
    container_factory, settings, infra, aged_rows
):
    own = ContactsSettings(
        **{
            **settings.model_dump(),
            "outbox_retention_hours": 1,
            "inbox_retention_days": 1,
            "retention_sweep_seconds": 0.2,
        }
    )
    container_factory(ContactsService, own.nameko_config()).start()

    def left() -> set[str]:
        with infra.engine.connect() as connection:
            present = {
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT event_id FROM contacts.outbox WHERE event_id = ANY(:ids) "
                        "UNION SELECT event_id FROM contacts.inbox WHERE event_id = ANY(:ids)"
                    ),
                    {"ids": list(aged_rows.values())},
                )
            }
        return {name for name, event_id in aged_rows.items() if event_id in present}

    with eventlet.Timeout(15):
        while left() != {"new_sent", "old_parked", "new_seen"}:
            eventlet.sleep(0.1)
