"""Case 1: a process killed (as by kill -9) at each point where a crash could lose or double an
email, restarted by the supervisor as a cluster would.

The points are named in the code with `shared.faults.crash_point`; a process started with
`PORTAL_CRASH_AT=<point>` and an existing marker file ends with `os._exit(137)` the first time it
gets there: no cleanup, no ack, no commit, exactly like SIGKILL at that line.

Invariant of every case: every invitation ends with its email sent (none lost), and the
invitation shows it (`delivered`). An email is sent twice only for a crash between the SMTP
server's 250 and the row being marked sent (window d): then the email is sent again after the
delivery's lease ends, and the duplicates are counted (by Message-ID) and reported. The sender
sends on several connections at once and saves the results of 50 ms together, so a sender that
dies anywhere (its relay's crash point too) may leave other emails in that window: at most
`SENDER_BATCH_SIZE` (the emails it lets be sent and unrecorded at once), each first taken by the
server before the crash.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from shared import faults
from tests.faults.conftest import (
    CLAIM_LEASE_SECONDS,
    count_emails,
    size,
    wait_until,
)

SENDER_BATCH_SIZE = 20  # the platform's default: emails one sender lets be sent and unrecorded at once

CASES = [
    # (a) the invitation and its event are committed; the relay has not published it.
    pytest.param("invitations", faults.INVITATION_COMMITTED, id="a-invitations-after-commit"),
    # (b) a relay published the events of a batch; the rows are not marked published.
    pytest.param("invitations", faults.OUTBOX_PUBLISHED, id="b-invitations-relay-after-publish"),
    pytest.param("notifications", faults.OUTBOX_PUBLISHED, id="b-notifications-relay-after-publish"),
    pytest.param("sender", faults.SENDER_OUTBOX_PUBLISHED, id="b-sender-relay-after-publish"),
    # (c) the delivery and its event are committed; the invitation_sent message is not acked.
    pytest.param("notifications", faults.DELIVERY_QUEUED_COMMITTED, id="c-notifications-after-commit"),
    # (d) the SMTP server answered 250; the delivery is not marked sent.
    pytest.param("sender", faults.SENDER_SMTP_ACCEPTED, id="d-sender-after-smtp-250"),
]


@pytest.fixture(scope="module")
def staff(platform):
    return platform.new_organization()


@pytest.mark.parametrize(("process", "point"), CASES)
def test_a_crash_at_this_point_loses_no_email(platform, staff, results, request, process, point):
    """Invariant: every invitation gets its email (0 lost) and ends `delivered`; each tenant has
    exactly one invitation; no email is sent twice, except when the sender dies: then only emails
    the server took before the crash (window d), at most one per SMTP connection, and at least
    one after the crash point right after a 250."""
    count = size(5, 100)
    tenants = staff.tenants(count, tag=f"crash-{process}")
    recipients = {t.email for t in tenants}
    restarts_before = len(platform.stack.restart_log)

    marker = platform.arm(process, point)
    try:
        platform.wait_ready()
        attempts = staff.invite_until_accepted(tenants, timeout=120)
        wait_until(lambda: not marker.exists(), 60, f"{process} to reach the crash point {point}")
    finally:
        marker.unlink(missing_ok=True)  # a case that failed leaves no process armed for the next
    crash = wait_until(
        lambda: next((r for r in platform.stack.restart_log[restarts_before:] if r.name == process), None),
        30,
        f"the supervisor to restart {process}",
    )
    assert crash.code == faults.CRASH_EXIT_CODE, f"{process} exited with {crash.code}, not at the crash point"

    # Everything settles: every delivery sent (a duplicate of window d goes out when its lease
    # ends, before its row is marked), every invitation delivered.
    invitation_ids = {row.id for row in platform.invitation_rows(recipients)}
    settle = 60 + 2 * CLAIM_LEASE_SECONDS

    def all_sent() -> bool:
        rows = platform.delivery_rows(recipients)
        return len(rows) >= len(invitation_ids) and all(row.status == "sent" for row in rows)

    wait_until(all_sent, settle, "every delivery to be sent")
    wait_until(
        lambda: all(row.state == "delivered" for row in platform.invitation_rows(recipients)),
        settle,
        "every invitation to show delivered",
    )
    emails = platform.wait_for_emails(recipients, timeout=settle)
    measured = count_emails(emails, recipients)
    deliveries = platform.delivery_rows(recipients)
    restarts = platform.restarts_since(restarts_before)
    parked = platform.dead_letters()
    # A duplicate is an email whose first copy the server took before the crash: window d.
    first_copy: dict[str, dict] = {}
    for message in sorted(emails, key=lambda m: m["id"]):
        first_copy.setdefault(message["message_id"], message)
    copies = Counter(m["message_id"] for m in emails)
    duplicated = {mid for mid, n in copies.items() if n > 1}
    before_crash = {
        mid
        for mid in duplicated
        if datetime.fromisoformat(first_copy[mid]["received_at"]).timestamp() <= crash.at
    }
    case = request.node.callspec.id
    results.record(
        f"1{case[0]} {case[2:]}",
        invitations=len(invitation_ids),
        emails_received=measured["emails_received"],
        lost=measured["lost"],
        duplicates=measured["duplicates"],
        attempts={
            "http": dict(Counter(str(a.status) for a in attempts)),
            "smtp": sum(row.attempts for row in deliveries),
        },
        restarts=[f"{r['process']} ({r['exit_code']})" for r in restarts],
        result="pass",
        dead_letters=parked,
        note=(
            f"{len(duplicated)} email(s) sent again: each first taken by the server before the crash, "
            "its 250 never recorded (window d)"
            if duplicated
            else None
        ),
    )

    assert measured["lost"] == 0
    assert len(invitation_ids) == count, "a retried request made a second invitation"
    assert len(deliveries) == count, "an invitation got more than one delivery"
    assert [r["process"] for r in restarts] == [process], f"unexpected restarts: {restarts}"
    assert not parked, f"events parked in dead-letter queues: {parked}"
    if process == "sender":
        # A sender that dies, wherever it is, leaves the emails it had between their 250 and
        # their mark (window d): each is sent again when its lease ends, at most SENDER_BATCH_SIZE
        # of them. After the crash point right after a 250, at least that one.
        assert duplicated == before_crash, "an email was sent twice that was not in flight at the crash"
        assert len(duplicated) <= SENDER_BATCH_SIZE, measured
        if point == faults.SENDER_SMTP_ACCEPTED:
            assert duplicated, "the email whose 250 was not recorded was not sent again"
    else:
        assert measured["duplicates"] == 0, measured
