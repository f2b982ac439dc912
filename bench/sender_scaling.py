"""`python -m bench.sender_scaling` (`make bench-senders`): how the SMTP sender scales with processes.

An SMTP sink that takes `--delay-ms` (50) per message before its 250 reply, the pace of a real
relay, and 1, 2 and 4 `python -m notifications.sender` processes (each with its own
`SENDER_CONCURRENCY` SMTP connections) sending one backlog of `--messages` due deliveries.

Each round builds the backlog the way an invitation does, untimed, with no sender running:
`invitation_sent` events (the contract the invitations service publishes, link sealed) go to the
`invitations.events` exchange, and the notifications service turns each into a queued delivery.
Then the benchmark locks the deliveries table, starts the round's sender processes and waits until
every one of them is up and its claimer is waiting on that lock; releasing the lock starts the
clock, so all senders start at once and none is timed starting up. The round ends when the sink
holds one email to every recipient of the backlog (timed until the last one arrived); then every
delivery must be `sent` in the database, the senders are stopped, and emails that never arrived
(lost) or arrived twice (duplicates) are counted.

Rounds alternate 1, 2, 4 processes after a warm-up round, the first one rotating; a target is
judged on the median of the per-round ratios (bench/common/stats.py). Targets: 2 processes send at least
1.8x what 1 does, 4 at least 3.4x.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import aio_pika
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bench.common.cli import argument_parser, say
from bench.common.cpu import machine_busy, machine_jiffies
from bench.common.emails import count_deliveries
from bench.common.machine import command_line
from bench.common.platform import BenchPlatform, bench_platform
from bench.common.results import Results
from bench.common.stats import Rounds, round_orders
from bench.sender_scaling_processes import Meters, Senders, label
from bench.sender_scaling_report import report
from devtools.prepare import REPO
from notifications.settings import NotificationsSettings
from shared.broker_access import dev_uri, login_name
from shared.contracts import events as e
from shared.contracts.common import utc_now
from shared.contracts.notifications import DeliveryPurpose
from shared.sealing import LinkSealer
from shared.testing.infra import InfraError, check_postgres, check_rabbitmq
from shared.topology import event_exchange_name

SENDER_APP = "notifications-sender"  # the sender's application_name in pg_stat_activity
PUBLISH_IN_FLIGHT = 200
POLL_SECONDS = 0.05
ROUND_ATTEMPTS = 3
LOCK_TIMEOUT_SECONDS = 25  # under the sender's statement timeout (30 s), so no claim gives up waiting


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argument_parser("bench.sender_scaling", __doc__, "senders", rounds=3)
    parser.add_argument(
        "--messages", type=int, default=2000, help="due deliveries sent in each round (default 2000)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[1, 2, 4],
        help="sender processes, one contender each; the first is the baseline (default 1 2 4)",
    )
    parser.add_argument(
        "--delay-ms", type=int, default=50, help="the sink's pause before each 250 reply (default 50)"
    )
    parser.add_argument(
        "--sender-concurrency",
        type=int,
        default=None,
        help="SMTP connections per sender process (default: the sender's own default)",
    )
    return parser.parse_args(argv)


# --- the backlog --------------------------------------------------------------------------------


def invitation_events(
    count: int, domain: str, public_base_url: str, sealer: LinkSealer
) -> list[e.InvitationSent]:
    """What the invitations service publishes when staff invite `count` contacts, one address each."""
    organization_id, staff_id = uuid.uuid4(), uuid.uuid4()
    expires_at = utc_now() + timedelta(days=7)
    invitation_ids = [uuid.uuid4() for _ in range(count)]
    return [
        e.InvitationSent(
            organization_id=organization_id,
            invitation_id=invitation_ids[n],
            contact_id=uuid.uuid4(),
            contact_type="tenant",
            email=f"tenant.{n}@{domain}",
            recipient_name=f"Tess Tenant{n}",
            organization_name="Bench Lettings",
            locale="en",
            expires_at=expires_at,
            sent_by_staff_member_id=staff_id,
            is_resend=False,
            sealed_link=sealer.seal(
                f"{public_base_url}/invite/{secrets.token_urlsafe(32)}",
                recipient=f"tenant.{n}@{domain}",
                purpose=DeliveryPurpose.INVITATION,
                subject=invitation_ids[n],
                expires_at=expires_at,
            ),
        )
        for n in range(count)
    ]


async def publish(amqp_uri: str, events: list[e.InvitationSent]) -> None:
    """Publish as the invitations service's outbox relay does: JSON to `invitations.events`, routing
    key the event type, message id the event id, persistent, with publisher confirms."""
    # As the invitations service: its login and user_id, or notifications parks every event.
    connection = await aio_pika.connect(
        dev_uri(amqp_uri, "invitations"), client_properties={"connection_name": "bench-senders"}
    )
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(event_exchange_name("invitations"), ensure=False)
        for start in range(0, len(events), PUBLISH_IN_FLIGHT):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            body=event.model_dump_json().encode(),
                            content_type="application/json",
                            content_encoding="utf-8",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=str(event.event_id),
                            type=event.event_type,
                            user_id=login_name("invitations"),
                        ),
                        routing_key=event.event_type,
                    )
                    for event in events[start : start + PUBLISH_IN_FLIGHT]
                )
            )
    finally:
        await connection.close()


def statuses(db: Engine, domain: str) -> Counter[str]:
    """The deliveries to `domain`'s addresses, counted by status."""
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, count(*) AS n FROM notifications.deliveries "
                "WHERE recipient LIKE :pattern GROUP BY status"
            ),
            {"pattern": f"%@{domain}"},
        ).all()
    return Counter({row.status: row.n for row in rows})


def wait_until(check: Any, what: str, timeout: float, pause: float = 0.25) -> Any:
    """Call `check()` until it answers something true; that answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(pause)


# --- one round ----------------------------------------------------------------------------------


def run_round(
    platform: BenchPlatform,
    db: Engine,
    meters: Meters,
    processes: int,
    messages: int,
    sender_env: dict[str, str],
    tag: str,
) -> dict[str, Any]:
    domain = f"{tag}.senders.example.com"
    sealer = NotificationsSettings().link_sealer
    events = invitation_events(messages, domain, platform.config.public_base_url, sealer)
    recipients = {event.email for event in events}
    asyncio.run(publish(platform.amqp_uri, events))
    wait_until(
        lambda: statuses(db, domain)["queued"] >= messages,
        f"{messages} queued deliveries",
        timeout=120 + messages / 20,
    )
    platform.sink.clear()
    accepted_before = platform.sink.stats()["accepted"]
    with db.connect() as gate:
        gate_tx = gate.begin()
        lock_deliveries(gate)
        with Senders(platform, processes, sender_env) as senders:

            def claimers_waiting() -> bool:
                senders.fail_if_exited()
                return waiting_claimers(db) >= processes

            try:
                wait_until(claimers_waiting, f"{processes} sender(s) to start", LOCK_TIMEOUT_SECONDS, 0.1)
                before = meters.read(senders)
                before_machine = machine_jiffies()
            finally:
                gate_tx.commit()  # also on failure, or the senders could not stop until their claims time out
            started_wall = time.time()
            deadline = time.monotonic() + 60 + messages / 5
            wait_for_count(platform.sink, senders, accepted_before + len(recipients), deadline)
            # Before the sink lists its emails: parsing thousands of them is not sending them.
            after_machine = machine_jiffies()
            after = meters.read(senders)
            done = first_emails(platform.sink, senders, recipients, deadline)
            last = max(datetime.fromisoformat(m["received_at"]).timestamp() for m in done)
            elapsed = last - started_wall
            offsets = sorted(
                datetime.fromisoformat(m["received_at"]).timestamp() - started_wall for m in done
            )
            counted = wait_until(
                lambda: (c := statuses(db, domain)) and c["sent"] + c["failed"] >= messages and c,
                "every delivery's result in the database",
                timeout=60,
            )
    # The senders have stopped: nothing more can arrive.
    counts = count_deliveries(platform.sink.messages(), list(recipients))
    lost, duplicates = counts["lost"], counts["duplicate_emails"]
    with db.connect() as conn:
        retried = conn.scalar(
            text("SELECT count(*) FROM notifications.deliveries WHERE recipient LIKE :p AND attempts > 1"),
            {"p": f"%@{domain}"},
        )
    return {
        "processes": processes,
        "latencies": offsets,  # when each email arrived, seconds after the start
        "elapsed": elapsed,
        "errors": lost + duplicates,
        "lost": lost,
        "duplicates": duplicates,
        "retried": retried,
        "statuses": dict(counted),
        "server_cpu": Meters.spent(before, after),
        "machine_busy": machine_busy(before_machine, after_machine),
    }


def run_round_retrying(
    platform: BenchPlatform,
    db: Engine,
    meters: Meters,
    processes: int,
    messages: int,
    sender_env: dict[str, str],
    round_name: str,
) -> dict[str, Any]:
    """`run_round`, again with a new backlog when PostgreSQL or RabbitMQ went away meanwhile (other
    people's fault tests restart them on this machine): what is left of the abandoned backlog is
    taken out first, so the next round sends its own emails only."""
    abandoned: list[str] = []
    for attempt in range(1, ROUND_ATTEMPTS + 1):
        tag = f"{round_name}-{processes}p-{uuid.uuid4().hex[:6]}"
        try:
            answer = run_round(platform, db, meters, processes, messages, sender_env, tag)
        except (DBAPIError, OSError, aio_pika.exceptions.AMQPError, RuntimeError) as exc:
            if attempt == ROUND_ATTEMPTS:
                raise
            why = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
            say(f"{tag} failed ({why}); waiting for the servers, then again")
            abandoned.append(why)
            wait_for_servers(platform)
            abandon(platform, db, tag)
            continue
        answer["abandoned_attempts"] = abandoned
        return answer
    raise AssertionError("unreachable")


def wait_for_servers(platform: BenchPlatform, timeout: float = 300) -> None:
    """Until PostgreSQL and RabbitMQ answer again and the notifications service consumes."""

    def answering() -> bool:
        try:
            check_postgres(platform.database_url)
            check_rabbitmq(platform.amqp_uri)
            platform.management.queues(platform.vhost)
        except InfraError:
            return False
        return True

    wait_until(answering, "PostgreSQL and RabbitMQ to answer", timeout, pause=2)
    platform.wait_for_rpc("notifications", timeout=timeout)


def abandon(platform: BenchPlatform, db: Engine, tag: str) -> None:
    """Take the rest of an abandoned backlog out of the senders' way: wait for its events to be
    consumed, then mark its deliveries still to send as failed."""
    queue = "evt-invitations-invitation_sent--notifications.on_invitation_sent"

    def consumed() -> bool:
        found = [q for q in platform.management.queues(platform.vhost) if q.get("name") == queue]
        return bool(found) and int(found[0].get("messages") or 0) == 0  # type: ignore[call-overload]

    wait_until(consumed, "the abandoned round's events to be consumed", 120, pause=1)
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE notifications.deliveries SET status = 'failed', lease_until = NULL, "
                "last_error = 'abandoned by the benchmark' "
                "WHERE recipient LIKE :pattern AND status IN ('queued', 'sending')"
            ),
            {"pattern": f"%@{tag}.senders.example.com"},
        )


def lock_deliveries(conn: Connection) -> None:
    """Hold every claim (an UPDATE) back until this transaction ends; reads go on."""
    conn.execute(text("SET LOCAL lock_timeout = '10s'"))
    conn.execute(text("LOCK TABLE notifications.deliveries IN EXCLUSIVE MODE"))


def waiting_claimers(db: Engine) -> int:
    with db.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = :app AND wait_event_type = 'Lock'"
                ),
                {"app": SENDER_APP},
            )
            or 0
        )


def wait_for_count(sink: Any, senders: Senders, accepted: int, deadline: float) -> None:
    """Until the sink has accepted `accepted` emails since it started (its counter is cheap to read)."""
    while sink.stats()["accepted"] < accepted:
        if time.monotonic() >= deadline:
            raise RuntimeError("the sink did not receive every email in time")
        senders.fail_if_exited()
        time.sleep(POLL_SECONDS)


def first_emails(sink: Any, senders: Senders, recipients: set[str], deadline: float) -> list[dict[str, Any]]:
    """The first email to each recipient, once the sink holds one for every one of them (the
    count can be reached early when some went out twice)."""
    while True:
        first: dict[str, dict[str, Any]] = {}
        for message in sink.messages():
            for recipient in message["rcpt_tos"]:
                first.setdefault(recipient.lower(), message)
        if recipients <= set(first):
            return [first[r] for r in recipients]
        if time.monotonic() >= deadline:
            raise RuntimeError("the sink did not receive every email in time")
        senders.fail_if_exited()
        time.sleep(POLL_SECONDS * 10)


# --- the run ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = Results(args.name, command_line(), title="SMTP sender scaling")
    results.data["settings"] = vars(args)
    sender_env = (
        {} if args.sender_concurrency is None else {"SENDER_CONCURRENCY": str(args.sender_concurrency)}
    )
    connections = args.sender_concurrency or NotificationsSettings.model_fields["sender_concurrency"].default
    contenders = {label(n): n for n in args.processes}
    rounds = Rounds()
    try:
        with bench_platform(args.name, processes=["smtp-sink", "notifications"]) as platform:
            platform.sink.set_faults(delay_ms=args.delay_ms)
            db = create_engine(platform.database_url, pool_size=2, max_overflow=2, pool_pre_ping=True)
            try:
                meters = Meters(platform, db)
                for order in round_orders(contenders, args.rounds):
                    for name, processes in order.items:
                        messages = max(50, args.messages // 2) if order.warmup else args.messages
                        answer = run_round_retrying(
                            platform, db, meters, processes, messages, sender_env, f"r{order.number}"
                        )
                        rounds.add(name, answer, warmup=order.warmup)
                        print(
                            f"  round {order.number}{' (warm-up)' if order.warmup else ''}: {name}: "
                            f"{messages / answer['elapsed']:.1f} emails/s, lost {answer['lost']}, "
                            f"duplicates {answer['duplicates']}",
                            flush=True,
                        )
            finally:
                db.dispose()
    except KeyboardInterrupt:
        print("Stopped; nothing written.", file=sys.stderr)
        return 130
    report(results, args, rounds, connections)
    for path in results.write(doc=True):
        print(f"wrote {path.relative_to(REPO)}")
    print(results.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
