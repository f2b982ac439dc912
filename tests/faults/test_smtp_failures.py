"""Case 3: the mail server refuses for a while, refuses for good, is gone, or is slow.

The SMTP sink's fault rules make it answer RCPT with a 4xx or 5xx reply, or wait before every
reply (`devtools.sink_client`); stopping the sink's process makes the server vanish. The
sender's back-off is made short (`RETRY_BASE_SECONDS=0.5`, `RETRY_CAP_SECONDS=2`, conftest's
PLATFORM_ENV) so a case ends in seconds. Two senders share the deliveries, as replicas do.

Invariants:
- 421 or 451 for a while: each email is tried again with capped exponential back-off, then sent
  once the server takes it; none is lost, none sent twice.
- 550: no retry (one attempt); the invitation shows bounced, and staff see why through the API
  (the invitation's history and its deliveries, with the server's reply).
- The server gone: nothing is lost; every email is sent after the server is back.
- A server that answers every command in time, but so slowly that one email takes longer than
  the claim's lease: every email arrives once, and every invitation shows delivered.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from notifications.domain import retry_delay
from tests.faults.conftest import PLATFORM_ENV, count_emails, sender_logs, size, wait_until

BASE = float(PLATFORM_ENV["RETRY_BASE_SECONDS"])
CAP = float(PLATFORM_ENV["RETRY_CAP_SECONDS"])
SMTP_TIMEOUT = float(PLATFORM_ENV["SMTP_TIMEOUT_SECONDS"])
LEASE = float(PLATFORM_ENV["CLAIM_LEASE_SECONDS"])
MODULE_SENDERS = 2
SENT_LINE = re.compile(r"delivery \S+ to (?P<to>\S+): sent \(250\)")
RETRY_LINE = re.compile(
    r"delivery \S+ to (?P<to>\S+): attempt (?P<attempt>\d+) failed \((?P<code>\S+) .*\); "
    r"retrying in (?P<delay>[0-9.]+) s"
)


@pytest.fixture(scope="module")
def staff(platform):
    return platform.new_organization()


@pytest.fixture(autouse=True)
def no_faults_left(platform):
    yield
    if platform.sink.healthy():
        platform.sink.clear_faults()


def retries_logged(platform, recipients: set[str]) -> list[dict[str, str]]:
    """The senders' "attempt N failed (...); retrying in X s" lines for these recipients."""
    text = sender_logs(platform)
    wanted = {r.lower() for r in recipients}
    return [m.groupdict() for m in RETRY_LINE.finditer(text) if m["to"].lower() in wanted]


def test_temporary_refusals_are_retried_with_backoff_then_sent(platform, staff, results):
    """Invariant: with 421 and 451 for a while, every email is retried with capped exponential
    back-off and then sent: 0 lost, 0 duplicates, each delivery took more than one attempt."""
    per_code = size(4, 50)
    busy = staff.tenants(per_code, tag="smtp421")
    greylisted = staff.tenants(per_code, tag="smtp451")
    tenants = busy + greylisted
    recipients = {t.email for t in tenants}
    rejected_before = platform.sink.stats()["rejected"]
    platform.sink.set_faults(
        {"reply": "421 4.3.2 Service not available, closing transmission channel", "match": "smtp421."},
        {"reply": "451 4.7.1 Greylisted, please try again later", "match": "smtp451."},
    )
    started = time.time()
    attempts = staff.invite_until_accepted(tenants, timeout=120)

    # "For a while": until every email has been refused at least twice.
    wait_until(
        lambda: (
            (rows := platform.delivery_rows(recipients))
            and len(rows) == len(tenants)
            and all(row.attempts >= 3 for row in rows)
        ),
        120,
        "every email to be refused at least twice",
    )
    platform.sink.clear_faults()
    refused_for = time.time() - started

    emails = platform.wait_for_emails(recipients, timeout=120)
    wait_until(
        lambda: all(row.state == "delivered" for row in platform.invitation_rows(recipients)),
        60,
        "every invitation to show delivered",
    )
    emails = platform.emails_to(recipients)
    measured = count_emails(emails, recipients)
    deliveries = platform.delivery_rows(recipients)
    retries = retries_logged(platform, recipients)
    per_delivery = Counter(row.attempts for row in deliveries)
    # The back-off each retry was given is the capped exponential step, jittered within its
    # upper half (the delays the sender computed and logged, not a measured time).
    out_of_step = [
        r
        for r in retries
        if not retry_delay(int(r["attempt"]), BASE, CAP, 0.0) - 0.05
        <= float(r["delay"])
        <= retry_delay(int(r["attempt"]), BASE, CAP, 1.0) + 0.05
    ]
    results.record(
        "3 SMTP 421/451 for a while",
        invitations=len(tenants),
        emails_received=measured["emails_received"],
        lost=measured["lost"],
        duplicates=measured["duplicates"],
        attempts={
            "smtp": sum(row.attempts for row in deliveries),
            "per email": {str(k): v for k, v in sorted(per_delivery.items())},
            "http": dict(Counter(str(a.status) for a in attempts)),
        },
        outage_seconds=refused_for,
        restarts=[f"{r.name} ({r.code})" for r in platform.stack.restart_log],
        result="pass",
        refused_replies=platform.sink.stats()["rejected"] - rejected_before,
        retry_delays_logged=sorted({(int(r["attempt"]), r["code"], float(r["delay"])) for r in retries}),
        note="back-off per attempt (s): "
        + ", ".join(
            f"{n}: {retry_delay(n, BASE, CAP, 0.0):g}-{retry_delay(n, BASE, CAP, 1.0):g}"
            for n in sorted({int(r["attempt"]) for r in retries})
        ),
    )

    assert measured["lost"] == 0, measured
    assert measured["duplicates"] == 0, measured
    assert all(row.status == "sent" and row.attempts >= 3 for row in deliveries)
    assert {r["code"] for r in retries} == {"421", "451"}
    assert not out_of_step, f"retries outside the back-off schedule: {out_of_step[:5]}"


def test_a_permanent_refusal_bounces_at_once_and_staff_see_why(platform, staff, results):
    """Invariant: a 550 is not retried (one attempt); the invitation shows bounced; its history
    and its deliveries, read through the staff API, give the server's reply."""
    tenants = staff.tenants(size(2, 20), tag="smtp550")
    recipients = {t.email for t in tenants}
    reply = "550 5.1.1 No such user here"
    rejected_before = platform.sink.stats()["rejected"]
    platform.sink.set_faults(reply=reply, match="smtp550.")
    attempts = staff.invite_until_accepted(tenants, timeout=60)
    invitation_ids = {a.contact_id: a.invitation_id for a in attempts if a.invitation_id}

    def history(tenant):
        return staff.get(f"/contacts/{tenant.id}/invitations")["items"][0]

    wait_until(
        lambda: all(history(t)["state"] == "bounced" for t in tenants), 60, "every invitation to show bounced"
    )
    for tenant in tenants:
        invitation = history(tenant)
        assert invitation["id"] == invitation_ids[tenant.id]
        bounced = [h for h in invitation["history"] if h["state"] == "bounced"]
        assert (
            len(bounced) == 1 and "550" in bounced[0]["detail"] and "No such user" in bounced[0]["detail"]
        ), invitation["history"]
        [delivery] = staff.get(f"/invitations/{invitation['id']}/deliveries")["items"]
        assert delivery["status"] == "failed", delivery
        assert delivery["attempts"] == 1, delivery
        assert delivery["last_smtp_code"] == 550, delivery
        assert "No such user" in delivery["last_error"], delivery
    refused = platform.sink.stats()["rejected"] - rejected_before
    emails = platform.emails_to(recipients)
    results.record(
        "3 SMTP 550",
        invitations=len(tenants),
        emails_received=len(emails),
        lost=0,
        duplicates=0,
        attempts={"smtp": refused},
        restarts=[f"{r.name} ({r.code})" for r in platform.stack.restart_log],
        result="pass",
        note=f"bounced after 1 attempt each; history detail: {bounced[0]['detail']!r}; "
        f"delivery: {delivery['status']}, {delivery['last_smtp_code']} {delivery['last_error']!r}",
    )
    assert refused == len(tenants), "a permanent refusal was tried again"
    assert emails == []


def test_the_mail_server_gone_loses_nothing(platform, staff, results):
    """Invariant: with the SMTP server gone (its process stopped), every email waits and is
    retried; once it is back, every one is sent: 0 lost, 0 duplicates; no process restarted."""
    tenants = staff.tenants(size(10, 200), tag="smtpgone")
    recipients = {t.email for t in tenants}
    restarts_before = len(platform.stack.restart_log)

    down_at = time.time()
    platform.stack.stop_process("smtp-sink")
    attempts = staff.invite_until_accepted(tenants, timeout=120)
    # The sender keeps trying: every email has failed to connect a few times.
    tries = size(2, 4)
    wait_until(
        lambda: (
            (rows := platform.delivery_rows(recipients))
            and len(rows) == len(tenants)
            and all(r.attempts >= tries and (r.last_error or "").startswith("cannot connect") for r in rows)
        ),
        120,
        f"every email to fail to connect {tries} times",
    )
    platform.stack.start_process("smtp-sink")
    wait_until(platform.sink.healthy, 30, "the SMTP sink to be back")
    back_at = time.time()

    emails = platform.wait_for_emails(recipients, timeout=size(120, 300))
    wait_until(
        lambda: all(row.state == "delivered" for row in platform.invitation_rows(recipients)),
        60,
        "every invitation to show delivered",
    )
    emails = platform.emails_to(recipients)
    measured = count_emails(emails, recipients)
    deliveries = platform.delivery_rows(recipients)
    restarts = platform.stack.restart_log[restarts_before:]
    results.record(
        "3 SMTP server gone",
        invitations=len(tenants),
        emails_received=measured["emails_received"],
        lost=measured["lost"],
        duplicates=measured["duplicates"],
        attempts={
            "smtp": sum(row.attempts for row in deliveries),
            "per email": {str(k): v for k, v in sorted(Counter(r.attempts for r in deliveries).items())},
            "http": dict(Counter(str(a.status) for a in attempts)),
        },
        outage_seconds=back_at - down_at,
        restarts=[f"{r.name} ({r.code})" for r in restarts],
        result="pass",
    )
    assert measured["lost"] == 0, measured
    assert measured["duplicates"] == 0, measured
    assert not restarts, restarts


def test_a_server_slower_than_the_claim_lease_gets_each_email_once(platform, staff, results):
    """Invariant: with a server that answers each command within the SMTP timeout, but so slowly
    that one email takes longer than the claim's lease, and two senders: every email arrives
    exactly once (0 duplicates, 0 lost), and every invitation shows delivered to staff.

    The sink waits half SMTP_TIMEOUT_SECONDS before every reply, so an email on a new connection
    (greeting, EHLO, MAIL, RCPT, DATA, end of data: six replies) takes three timeouts, 1.5 times
    CLAIM_LEASE_SECONDS (the tightest pair the settings accept: a lease of two timeouts). A
    sender that let its lease run out while it sent would have the other sender take the email
    over and send it again (the attack: 5 invitations, 22 emails)."""
    tenants = staff.tenants(size(5, 20), tag="slowsmtp")
    recipients = {t.email for t in tenants}
    reply_delay = SMTP_TIMEOUT / 2
    assert 6 * reply_delay > LEASE >= 2 * SMTP_TIMEOUT  # the case is what its docstring says
    platform.sink.set_faults(command_delay_ms=int(reply_delay * 1000))
    started = time.time()
    attempts = staff.invite_until_accepted(tenants, timeout=60)
    invitation_ids = {a.invitation_id for a in attempts if a.invitation_id}
    assert len(invitation_ids) == len(tenants)

    def states() -> dict[str, str]:
        return {i["id"]: i["state"] for i in staff.invitations() if i["id"] in invitation_ids}

    def settled() -> bool:
        # A second copy of any email ends the wait at once: it is what the case is about.
        if count_emails(platform.emails_to(recipients), recipients)["duplicates"]:
            return True
        return set(states().values()) == {"delivered"}

    wait_until(settled, size(90, 240), "every invitation to show delivered", every=0.5)
    slow_for = time.time() - started
    platform.sink.clear_faults()
    emails = platform.emails_to(recipients)
    measured = count_emails(emails, recipients)
    deliveries = platform.delivery_rows(recipients)
    sent_by = {
        path.stem: sum(
            1 for m in SENT_LINE.finditer(path.read_text(errors="replace")) if m["to"] in recipients
        )
        for path in sorted(platform.stack.log_dir.glob("sender*.log"))
    }
    results.record(
        "3 SMTP server slower than the lease",
        invitations=len(tenants),
        emails_received=measured["emails_received"],
        lost=measured["lost"],
        duplicates=measured["duplicates"],
        attempts={
            "smtp": sum(row.attempts for row in deliveries),
            "per email": {str(k): v for k, v in sorted(Counter(r.attempts for r in deliveries).items())},
            "http": dict(Counter(str(a.status) for a in attempts)),
        },
        outage_seconds=slow_for,
        restarts=[f"{r.name} ({r.code})" for r in platform.stack.restart_log],
        result="pass",
        note=f"every reply after {reply_delay:g} s (SMTP_TIMEOUT_SECONDS={SMTP_TIMEOUT:g}, "
        f"CLAIM_LEASE_SECONDS={LEASE:g}); 250s logged per sender: "
        + ", ".join(f"{name}: {count}" for name, count in sent_by.items()),
    )
    assert measured["duplicates"] == 0, measured
    assert measured["lost"] == 0, measured
    assert set(states().values()) == {"delivered"}, Counter(states().values())
    assert all(row.status == "sent" for row in deliveries), Counter(row.status for row in deliveries)
