"""Case 4: an event its handler can never handle ends in the dead-letter queue after a bounded
number of attempts, ops list and replay it with `python -m shared.deadletters`, and the events
behind it in the same queue are handled meanwhile.

The poison events are valid `invitation_sent` events whose handler fails every time: the
database refuses their deliveries (a trigger, for recipients `poison.*`), as a table that cannot
hold a value would. (An event that breaks its contract, such as an over-long locale, is parked at
once without retries: tests/unit of shared checks that the contract refuses it.)

Invariants:
- the poison event is tried 1 + len(EVENT_RETRY_DELAYS) times, then parked in
  `<queue>.dead` with the error, its event id and type, and when it failed;
- the events published after it in the same queue are handled (their emails arrive);
- `list` shows it; `replay` moves it back with its attempt count reset (it is tried the full
  number of times again, and comes back to the dead-letter queue: nothing fixed it);
- once the cause is fixed, a replayed event is handled: its email arrives and the invitation
  shows delivered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from kombu import Connection, Exchange

from shared.broker_access import login_name
from shared.contracts import events as e
from shared.contracts.common import ContactType, utc_now
from shared.contracts.notifications import DeliveryPurpose
from shared.deadletters import list_dead_letters
from shared.sealing import LinkSealer
from shared.settings import DEV_LINK_SEALING_KEY
from shared.topology import Subscription
from tests.faults.conftest import RETRY_DELAYS, size, wait_until

SUBSCRIPTION = Subscription("invitations", "invitation_sent", "notifications", "on_invitation_sent")
DEAD = SUBSCRIPTION.dead_letter_queue
ATTEMPTS = 1 + len(RETRY_DELAYS)
REFUSAL = "deliveries to poison recipients refused by the fault suite"


@pytest.fixture(scope="module")
def staff(platform):
    return platform.new_organization()


@pytest.fixture(scope="module", autouse=True)
def poison_refused(platform):
    """For the whole module, the database refuses every delivery to a `poison.*` recipient."""
    platform.query_commit(
        f"""
        CREATE FUNCTION notifications.faults_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$;
        CREATE TRIGGER faults_refuse_poison BEFORE INSERT ON notifications.deliveries
        FOR EACH ROW WHEN (NEW.recipient LIKE 'poison.%')
        EXECUTE FUNCTION notifications.faults_refuse_poison();
        """
    )


def ops(platform, *args: str) -> subprocess.CompletedProcess[str]:
    """The ops tool, as ops run it against a deploy: a command with AMQP_URI in its environment.
    A replay runs in the pod of the service whose queue it is, with that service's broker login."""
    uri = platform.config.uri_of("notifications") if args[0] == "replay" else platform.config.amqp_uri
    return subprocess.run(
        [sys.executable, "-m", "shared.deadletters", *args],
        env={**os.environ, "AMQP_URI": uri},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def listed(platform) -> dict[str, Any]:
    [queue] = json.loads(ops(platform, "list", "--json", "--queue", DEAD, "--limit", "1000").stdout)
    return queue  # type: ignore[no-any-return]


def dead_count(platform) -> int:
    [queue] = list_dead_letters(platform.config.amqp_uri, [DEAD], limit=0)
    return queue.message_count


def publish_poison(platform, staff, tenant) -> e.InvitationSent:
    """An invitation_sent for a real contact of a real organization, as the invitations relay
    publishes it (nameko's wire format)."""
    invitation_id, expires_at = uuid.uuid4(), utc_now() + timedelta(days=7)
    event = e.InvitationSent(
        organization_id=uuid.UUID(staff.organization_id),
        invitation_id=invitation_id,
        contact_id=uuid.UUID(tenant.id),
        contact_type=ContactType.TENANT,
        email=tenant.email,
        recipient_name="Tess Tenant",
        organization_name="Lettings",
        locale="en-GB",
        expires_at=expires_at,
        sent_by_staff_member_id=uuid.uuid4(),
        is_resend=False,
        sealed_link=LinkSealer([DEV_LINK_SEALING_KEY]).seal(
            f"{platform.config.public_base_url}/invite/{'x' * 43}",
            recipient=tenant.email,
            purpose=DeliveryPurpose.INVITATION,
            subject=invitation_id,
            expires_at=expires_at,
        ),
    )
    exchange = Exchange("invitations.events", type="topic", durable=True, no_declare=True)
    with Connection(platform.config.uri_of("invitations"), connect_timeout=10) as conn:
        conn.Producer(serializer="json").publish(
            event.model_dump(mode="json"),
            exchange=exchange,
            routing_key=event.event_type,
            message_id=str(event.event_id),
            type=event.event_type,
            user_id=login_name("invitations"),
            delivery_mode=2,
            retry=True,
        )
    return event


def tenant_emails_absent(text: str, tenants: list[Any]) -> bool:
    return not any(t.email in text for t in tenants)


def test_a_poison_event_is_parked_listed_and_replayed_and_others_flow(platform, staff, results):
    """Invariant: a poison event is parked after exactly 1 + len(EVENT_RETRY_DELAYS) attempts;
    events after it in the same queue are handled; ops list it and replay it with its attempt
    count reset."""
    poison_count = size(2, 20)
    good_count = size(5, 100)
    poisoned = staff.tenants(poison_count, tag="poison")
    good = staff.tenants(good_count, tag="behind")
    assert dead_count(platform) == 0

    events = [publish_poison(platform, staff, tenant) for tenant in poisoned]
    # Published after the poison, into the same queue: must not wait behind it.
    attempts = staff.invite_until_accepted(good, timeout=60)
    good_emails = platform.wait_for_emails({t.email for t in good}, timeout=size(60, 180))

    wait_until(lambda: dead_count(platform) == poison_count, 60, "the poison events to be parked")
    queue = listed(platform)
    parked = {m["event_id"]: m for m in queue["messages"]}
    assert queue["message_count"] == poison_count
    assert set(parked) == {str(ev.event_id) for ev in events}
    for message in parked.values():
        assert message["event_type"] == "invitation_sent"
        assert message["attempts"] == ATTEMPTS
        assert REFUSAL in message["error"], message
        assert tenant_emails_absent(message["error"], poisoned), "the parked error names a recipient"
        assert message["failed_at"]
    text_listing = ops(platform, "list").stdout
    assert f"{DEAD}: {poison_count} message(s)" in text_listing
    assert not platform.delivery_rows({t.email for t in poisoned}), "a poison event made a delivery"

    # Replay: moved back with the attempt count reset, tried the full number of times again,
    # parked again (nothing fixed the cause).
    replayed = ops(platform, "replay", DEAD).stdout
    assert f"replayed {poison_count} message(s)" in replayed, replayed
    wait_until(
        lambda: (
            (q := listed(platform))["message_count"] == poison_count
            and all(m["replays"] == 1 for m in q["messages"])
        ),
        60,
        "the replayed poison events to be parked again",
    )
    again = listed(platform)["messages"]
    assert all(m["attempts"] == ATTEMPTS for m in again), again

    results.record(
        "4 poison event, dead letters",
        invitations=good_count,
        emails_received=len(good_emails),
        lost=len({t.email for t in good}) - len({r for m in good_emails for r in m["rcpt_tos"]}),
        duplicates=0,
        attempts={"per poison event": ATTEMPTS, "after replay": again[0]["attempts"]},
        restarts=[f"{r.name} ({r.code})" for r in platform.stack.restart_log],
        result="pass",
        poison_events=poison_count,
        parked=poison_count,
        note="poison: invitation_sent whose delivery the database refuses; parked error: "
        f"{again[0]['error'].splitlines()[0][:160]!r}; the invitations behind it were answered "
        f"{dict(Counter(str(a.status) for a in attempts))}",
    )


def test_a_replayed_event_is_handled_once_its_cause_is_fixed(platform, staff, results):
    """Invariant: an event parked while something was broken is handled when replayed after the
    fix: its email arrives and the invitation shows delivered."""
    # Something breaks for one recipient: the database refuses its delivery (a trigger).
    platform.query_commit(
        """
        CREATE FUNCTION notifications.faults_refuse_delivery() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'a fixable delivery refused by the fault suite'; END $$;
        CREATE TRIGGER faults_refuse_delivery BEFORE INSERT ON notifications.deliveries
        FOR EACH ROW WHEN (NEW.recipient LIKE 'fixable.%')
        EXECUTE FUNCTION notifications.faults_refuse_delivery();
        """
    )
    [tenant] = staff.tenants(1, tag="fixable")
    before = dead_count(platform)
    staff.invite_until_accepted([tenant], timeout=60)
    wait_until(lambda: dead_count(platform) == before + 1, 60, "the invitation's event to be parked")
    parked = [m for m in listed(platform)["messages"] if "a fixable delivery" in (m["error"] or "")]
    assert len(parked) == 1 and parked[0]["attempts"] == ATTEMPTS, parked

    # The fix, then the replay.
    platform.query_commit(
        "DROP TRIGGER faults_refuse_delivery ON notifications.deliveries;"
        " DROP FUNCTION notifications.faults_refuse_delivery();"
    )
    ops(platform, "replay", DEAD)
    [email] = platform.wait_for_emails({tenant.email}, timeout=60)
    wait_until(
        lambda: all(row.state == "delivered" for row in platform.invitation_rows({tenant.email})),
        60,
        "the invitation to show delivered",
    )
    # The poison events of the other case went back too, and were parked again.
    wait_until(lambda: dead_count(platform) == before, 60, "only the poison events to be parked")
    results.record(
        "4 replay after a fix",
        invitations=1,
        emails_received=1,
        lost=0,
        duplicates=0,
        attempts={"before parking": ATTEMPTS},
        restarts=[f"{r.name} ({r.code})" for r in platform.stack.restart_log],
        result="pass",
        note="the notifications handler failed (a trigger refused the delivery) until the trigger was "
        "dropped; `replay` then delivered it",
    )
    assert email["rcpt_tos"] == [tenant.email]
