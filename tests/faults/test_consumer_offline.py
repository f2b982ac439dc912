"""Case 5: an event published while its consumer is not running waits for it.

The notifications process is stopped (SIGTERM, and kept stopped); staff send invitations, whose
`invitation_sent` events the invitations relay publishes while nobody consumes them. RabbitMQ
keeps them because the queues are declared up front (`shared.topology`, by the deploy), not by the
consumer when it starts.

Invariant: every event published while its consumer was down is handled once it starts: every
email arrives, once, and every invitation shows delivered.
"""

from __future__ import annotations

import time

import pytest
from kombu import Connection

from shared.topology import Subscription
from tests.faults.conftest import count_emails, size, wait_until

QUEUE = Subscription("invitations", "invitation_sent", "notifications", "on_invitation_sent").queue


@pytest.fixture(scope="module")
def staff(platform):
    return platform.new_organization()


def ready_messages(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri, connect_timeout=10) as conn:
        _, count, _ = conn.default_channel.queue_declare(queue=queue, passive=True)
        return int(count)


def test_an_event_published_while_its_consumer_is_down_is_handled_when_it_starts(platform, staff, results):
    """Invariant: events published while notifications is stopped all wait in its queue and are
    handled when it starts: 0 lost, 0 duplicates, every invitation delivered."""
    count = size(3, 100)
    tenants = staff.tenants(count, tag="offline")
    recipients = {t.email for t in tenants}
    waiting_before = ready_messages(platform.config.amqp_uri, QUEUE)

    stopped_at = time.time()
    platform.stack.stop_process("notifications")
    attempts = staff.invite_until_accepted(tenants, timeout=60)
    assert all(a.status == 201 for a in attempts), attempts
    waiting = wait_until(
        lambda: (n := ready_messages(platform.config.amqp_uri, QUEUE) - waiting_before) >= count and n,
        60,
        f"{count} invitation_sent events to wait in {QUEUE}",
    )
    assert not platform.delivery_rows(recipients), "something handled the events without notifications"
    assert all(row.state == "pending" for row in platform.invitation_rows(recipients))

    started_at = time.time()
    platform.stack.start_process("notifications")
    emails = platform.wait_for_emails(recipients, timeout=size(60, 180))
    wait_until(
        lambda: all(row.state == "delivered" for row in platform.invitation_rows(recipients)),
        60,
        "every invitation to show delivered",
    )
    emails = platform.emails_to(recipients)
    measured = count_emails(emails, recipients)
    results.record(
        "5 consumer not running",
        invitations=count,
        emails_received=measured["emails_received"],
        lost=measured["lost"],
        duplicates=measured["duplicates"],
        outage_seconds=started_at - stopped_at,
        restarts=[f"{r.name} ({r.code})" for r in platform.stack.restart_log],
        result="pass",
        note=f"{waiting} event(s) waited in {QUEUE} while notifications was stopped",
    )
    assert measured["lost"] == 0, measured
    assert measured["duplicates"] == 0, measured
    assert ready_messages(platform.config.amqp_uri, QUEUE) == waiting_before
