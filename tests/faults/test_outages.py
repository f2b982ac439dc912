"""Case 2: the message broker, then the database, stopped and started again in the middle of a
run of invitations.

These cases stop the whole RabbitMQ node (`rabbitmqctl stop_app` / `start_app`) or the whole
PostgreSQL cluster (`pg_ctl stop -m fast` / `start`), every vhost and database on it with it: the
suite's own node and cluster (`own_servers`, `devtools.private_servers`), never the machine's, so
nothing else running here (another test run, a `make up`) notices. The fixture leaves both
running whatever happens.

Staff keep sending invitations at a steady pace through the outage, and send again any that was
refused, as a person would.

Invariant: nothing is lost (every invitation's email arrives and the invitation shows it
delivered); every process reconnects by itself (the supervisor restarted nothing); and a request
made during the outage is answered with an error within the RPC timeout plus a margin rather than
hanging (the bound is "did not hang", not a speed).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from devtools.private_servers import PrivateServers
from devtools.stack import readiness
from tests.faults.conftest import (
    ARTIFACTS,
    FULL,
    HANG_MARGIN_SECONDS,
    RPC_TIMEOUT_SECONDS,
    Attempt,
    count_emails,
    size,
    wait_until,
)

pytestmark = pytest.mark.timeout(1500 if FULL else 400)

# The platform's own back-off of failing event handlers (README's default): an event handled while
# the database is down is retried for 36 s before it is parked. The suite's shorter default would
# park the events in flight during a database outage of more than 1.5 s.
MODULE_ENV = {"EVENT_RETRY_DELAYS": "[1, 5, 30]"}
INVITATIONS = size(150, 1000)
# How long the run of invitations lasts, and how long the server stays down within it.
RUN_SECONDS = size(24, 60)
DOWN_SECONDS = size(5, 15)
SENDER_CONCURRENCY = 4


@pytest.fixture(scope="module")
def staff(platform):
    return platform.new_organization()


def stop_server(servers: PrivateServers, server: str) -> None:
    """Stop the suite's own broker or database (each refuses the machine's ports)."""
    if server == "rabbitmq":
        servers.rabbitmq.stop()
    else:
        servers.postgres.stop()


def start_server(servers: PrivateServers, server: str) -> None:
    """Start it again, and wait until it answers."""
    if server == "rabbitmq":
        servers.rabbitmq.start()
    else:
        servers.postgres.start()


def paced(staff, tenants, seconds: float, workers: int = 8) -> list[Attempt]:
    """One invitation per tenant, spread evenly over `seconds` (a steady stream of staff)."""
    start = time.monotonic()
    step = seconds / max(1, len(tenants))

    def send(numbered: tuple[int, Any]) -> Attempt:
        n, tenant = numbered
        delay = start + n * step - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return staff.invite(tenant)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(send, enumerate(tenants)))


@pytest.mark.parametrize("server", ["rabbitmq", "postgresql"])
def test_an_outage_loses_nothing_and_every_service_reconnects(platform, own_servers, staff, results, server):
    """Invariant: 0 lost (every contact's email arrives and its invitation ends delivered); no
    process had to be restarted; requests during the outage were answered (an error) within the
    RPC timeout plus a margin; an outage is answered 503 or 504."""
    tenants = staff.tenants(INVITATIONS, tag=f"outage-{server}")
    platform.sink.clear()  # this case's emails only, so reading them stays cheap
    recipients = {t.email for t in tenants}
    restarts_before = len(platform.stack.restart_log)
    outage: dict[str, float] = {}

    def break_and_mend() -> None:
        time.sleep(RUN_SECONDS / 3)
        outage["stopping"] = time.time()
        stop_server(own_servers, server)
        outage["down"] = time.time()
        time.sleep(DOWN_SECONDS)
        outage["starting"] = time.time()
        start_server(own_servers, server)
        outage["up"] = time.time()

    breaker = threading.Thread(target=break_and_mend, name=f"{server}-outage")
    breaker.start()
    try:
        first = paced(staff, tenants, RUN_SECONDS)
    finally:
        breaker.join()
    assert "up" in outage, f"{server} did not come back"

    # Staff send again what was refused; a 429 means the first one did go out.
    refused = [t for t, a in zip(tenants, first, strict=True) if a.status not in (201, 429)]
    again = staff.invite_until_accepted(refused, timeout=300) if refused else []
    attempts = first + again

    platform.wait_for_emails(recipients, timeout=size(180, 600))
    # A request whose invitation went out but whose answer was lost (504) is sent again with its
    # Idempotency-Key: answered with that invitation, no second one. Each must end delivered.
    wait_until(
        lambda: newest_delivered(platform.invitation_rows(recipients), recipients),
        size(120, 300),
        "every contact's newest invitation to show delivered",
        every=1,
    )
    wait_until(lambda: readiness(platform.url) == "ready", 120, "the gateway to report every service ready")
    emails = platform.emails_to(recipients)
    measured = count_emails(emails, recipients)
    invitations = platform.invitation_rows(recipients)
    deliveries = platform.delivery_rows(recipients)
    restarts = platform.restarts_since(restarts_before)
    parked = platform.dead_letters()

    during = [a for a in attempts if outage["stopping"] - 1 <= a.started <= outage["up"] + 1]
    errors = [a for a in attempts if a.status not in (201, 429)]
    error_answers = Counter(a.status for a in errors)
    hung = [a for a in attempts if a.status is None or a.seconds > RPC_TIMEOUT_SECONDS + HANG_MARGIN_SECONDS]
    slowest = max(a.seconds for a in attempts)
    per_contact = Counter(row.email for row in invitations)
    resent = {email for email, n in per_contact.items() if n > 1}
    unanswered = {a.email for a in attempts if a.status in (None, 504)}
    # An outage is a 503 or a 504, never an internal error (docs/architecture.md, "Rules that
    # keep data safe": "never 500").
    wrong_status = {status: n for status, n in error_answers.items() if status not in (503, 504)}
    # Emails in flight when the database went away may be sent again (their 250 could not be
    # recorded): the same window as a crash after the 250, at most one per SMTP connection.
    allowed_duplicates = SENDER_CONCURRENCY if server == "postgresql" else 0
    plot = draw(server, attempts, emails, outage, restarts)
    results.record(
        f"2 {server} stop/start",
        invitations=len(invitations),
        emails_received=measured["emails_received"],
        lost=measured["lost"],
        duplicates=measured["duplicates"],
        attempts={
            "http": dict(Counter(str(a.status) for a in attempts)),
            "smtp": sum(r.attempts for r in deliveries),
        },
        outage_seconds=outage["up"] - outage["stopping"],
        restarts=[f"{r['process']} ({r['exit_code']})" for r in restarts],
        result="pass" if not restarts and not wrong_status else "fail",
        outage={k: datetime.fromtimestamp(v).isoformat(timespec="milliseconds") for k, v in outage.items()},
        down_seconds=outage["starting"] - outage["down"],
        requests_during_outage=len(during),
        error_answers={str(k): v for k, v in error_answers.items()},
        slowest_answer_seconds=round(slowest, 2),
        first_email_after_start_seconds=_first_after(emails, outage["up"]),
        second_invitations=len(resent),
        restart_reasons=[f"{r['process']} ({r['exit_code']}): {r['why']}" for r in restarts],
        plot=str(plot.relative_to(ARTIFACTS)) if plot else None,
        dead_letters=parked,
        note=f"{len(errors)} request(s) answered {_statuses(error_answers) or 'nothing else'} during the "
        f"outage, the slowest answer after {slowest:.1f} s, and sent again after it with the same "
        f"Idempotency-Key ({len(unanswered)} unanswered)",
    )

    assert measured["lost"] == 0, measured
    assert not resent, (
        f"{len(resent)} contact(s) got a second invitation: a retry with its key was not recognised"
    )
    assert len(deliveries) == len(invitations), "an invitation got more than one delivery"
    assert measured["distinct_emails"] == len(invitations), measured
    assert not parked, f"events parked in dead-letter queues: {parked}"
    assert not hung, f"{len(hung)} request(s) hung or got no answer: {hung[:3]}"
    assert measured["duplicates"] <= allowed_duplicates, measured
    assert not restarts, f"processes had to be restarted: {[r['why'] for r in restarts]}"
    assert not wrong_status, f"the outage was answered {_statuses(wrong_status)}, not 503 or 504"


def newest_delivered(invitations: list[Any], recipients: set[str]) -> bool:
    """Every invitation delivered or superseded, and every recipient with a delivered one."""
    return (
        all(row.state in ("delivered", "superseded") for row in invitations)
        and {row.email for row in invitations if row.state == "delivered"} == recipients
    )


def _statuses(counts: dict[Any, int]) -> str:
    return ", ".join(f"{n}x {status}" for status, n in sorted(counts.items(), key=lambda kv: str(kv[0])))


def _first_after(emails: list[dict[str, Any]], moment: float) -> float | None:
    times = sorted(
        datetime.fromisoformat(m["received_at"]).timestamp()
        for m in emails
        if datetime.fromisoformat(m["received_at"]).timestamp() >= moment
    )
    return round(times[0] - moment, 2) if times else None


def draw(  # type: ignore[no-untyped-def]
    server: str,
    attempts: list[Attempt],
    emails: list[dict[str, Any]],
    outage: dict[str, float],
    restarts: list[dict[str, Any]],
):
    """Invitations accepted and emails received over time, the outage shaded; the PNG's path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    t0 = min(a.started for a in attempts)
    accepted = sorted(a.started + a.seconds - t0 for a in attempts if a.status == 201)
    received = sorted(datetime.fromisoformat(m["received_at"]).timestamp() - t0 for m in emails)
    failed = sorted(a.started + a.seconds - t0 for a in attempts if a.status not in (201, 429))
    refused = "/".join(sorted({str(a.status) for a in attempts if a.status not in (201, 429)}))
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    ax.axvspan(
        outage["stopping"] - t0,
        outage["up"] - t0,
        color="tab:red",
        alpha=0.08,
        label=f"{server} stopping, starting",
    )
    ax.axvspan(
        outage["down"] - t0, outage["starting"] - t0, color="tab:red", alpha=0.18, label=f"{server} down"
    )
    for n, restart in enumerate(restarts):
        ax.axvline(
            restart["at"] - t0,
            color="tab:purple",
            linestyle="--",
            linewidth=1,
            label="a process restarted by the supervisor" if n == 0 else None,
        )
        ax.annotate(
            restart["process"],
            (restart["at"] - t0, 0),
            xytext=(3, 20),
            textcoords="offset points",
            rotation=90,
            fontsize=8,
            color="tab:purple",
        )
    ax.step(accepted, range(1, len(accepted) + 1), where="post", label="invitations accepted (201)")
    ax.step(received, range(1, len(received) + 1), where="post", label="emails received")
    if failed:
        ax.plot(failed, [0] * len(failed), "x", color="tab:red", label=f"requests refused ({refused})")
    ax.set_xlabel("seconds since the first request")
    ax.set_ylabel("count")
    ax.set_title(f"{len(attempts)} requests, {server} stopped and started")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = ARTIFACTS / f"outage-{server}.png"
    fig.savefig(path)
    plt.close(fig)
    return path
