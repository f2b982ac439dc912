"""The SMTP sender against a real SMTP sink, on the real PostgreSQL and RabbitMQ."""

import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

from devtools.smtp_sink.server import SmtpSink
from notifications.domain import SUPPRESSED_REASON
from notifications.sender import store
from shared.testing.helpers import random_email, random_suffix


def test_an_invitation_arrives_once_with_the_unsealed_link_and_the_row_is_sent(
    settings, deliveries, running_sender, sink_client, events, invitation_sent, caplog
):
    sent = invitation_sent()
    row = deliveries.queue(sent)
    caplog.set_level(logging.DEBUG)

    with running_sender(settings):
        done = deliveries.wait_status(row.id, "sent")
        _, payload = events.until(
            lambda kind, p: kind == "delivery_succeeded" and p["delivery_id"] == str(row.id)
        )

    [email] = sink_client.messages(to=sent.event.email)
    assert email["message_id"] == f"<{row.id}@portal.localhost>"
    assert email["from"] == "Portal <no-reply@portal.localhost>"
    assert email["subject"] == "Acme Lettings invites you to its portal"
    assert sent.link in email["text"]
    assert sent.link in email["html"]
    assert "Create your portal account" in email["html"]
    assert "Hello Tess Tenant" in email["text"]
    assert (done.attempts, done.last_smtp_code, done.lease_until) == (1, 250, None)
    assert done.sent_at is not None
    assert payload["smtp_reply"].startswith("2.0.0 OK")
    assert payload["purpose"] == "invitation"
    assert payload["subject_id"] == str(sent.event.invitation_id)
    # The logs say what happened to which delivery, and never hold the link in any form.
    assert str(row.id) in caplog.text
    for secret in (sent.link, sent.token, sent.sealed_link):
        assert secret not in caplog.text


def test_a_password_reset_email_has_its_link_and_says_choose_a_new_password(
    settings, deliveries, running_sender, sink_client, password_reset_requested
):
    sent = password_reset_requested()
    row = deliveries.queue(sent)

    with running_sender(settings):
        deliveries.wait_status(row.id, "sent")

    [email] = sink_client.messages(to=sent.event.email)
    assert email["subject"] == "Choose a new password for your portal account"
    assert sent.link in email["text"]
    assert "Choose a new password" in email["html"]
    assert "1 hour" in email["text"]


def test_a_451_is_retried_with_back_off_and_then_sent(
    settings, deliveries, running_sender, sink_client, invitation_sent, events, caplog
):
    sent = invitation_sent()
    sink_client.add_fault(reply="451 4.3.0 Try again later", match=sent.event.email, count=2)
    row = deliveries.queue(sent)
    caplog.set_level(logging.INFO)

    with running_sender(settings):
        done = deliveries.wait_status(row.id, "sent")
        events.until(lambda kind, p: kind == "delivery_succeeded" and p["delivery_id"] == str(row.id))

    assert done.attempts == 3
    assert done.last_smtp_code == 250
    assert len(sink_client.messages(to=sent.event.email)) == 1
    assert caplog.text.count(f"delivery {row.id} to {sent.event.email}: attempt") == 2
    for secret in (sent.link, sent.token, sent.sealed_link):
        assert secret not in caplog.text


def test_a_550_fails_at_once_and_suppresses_the_address(
    settings, deliveries, running_sender, sink_client, invitation_sent, events, caplog
):
    sent = invitation_sent()
    sink_client.add_fault(reply="550 5.1.1 No such user here", match=sent.event.email, count=1)
    row = deliveries.queue(sent)
    caplog.set_level(logging.INFO)

    with running_sender(settings):
        failed = deliveries.wait_status(row.id, "failed")
        _, payload = events.until(
            lambda kind, p: kind == "delivery_failed" and p["delivery_id"] == str(row.id)
        )

    assert (failed.attempts, failed.last_smtp_code) == (1, 550)
    assert "No such user here" in failed.last_error
    assert payload["smtp_code"] == 550
    assert "No such user here" in payload["reason"]
    assert sink_client.messages(to=sent.event.email) == []
    [suppressed] = deliveries.execute(
        "SELECT * FROM notifications.suppressions WHERE address = :address",
        address=sent.event.email.lower(),
    ).all()
    assert (suppressed.smtp_code, suppressed.delivery_id) == (550, row.id)
    for secret in (sent.link, sent.token, sent.sealed_link):
        assert secret not in caplog.text

    # The next email to that address is not even queued.
    again = deliveries.queue(invitation_sent(email=sent.event.email))
    assert again.status == "suppressed"


def test_a_554_fails_without_suppressing(settings, deliveries, running_sender, sink_client, invitation_sent):
    sent = invitation_sent()
    sink_client.add_fault(reply="554 5.7.1 Rejected for policy reasons", match=sent.event.email, count=1)
    row = deliveries.queue(sent)

    with running_sender(settings):
        failed = deliveries.wait_status(row.id, "failed")

    assert failed.last_smtp_code == 554
    assert not deliveries.execute(
        "SELECT 1 FROM notifications.suppressions WHERE address = :address", address=sent.event.email
    ).all()


def test_an_address_suppressed_after_queueing_is_not_sent_to(
    settings, deliveries, running_sender, sink_client, invitation_sent, events
):
    sent = invitation_sent()
    row = deliveries.queue(sent)
    deliveries.execute(
        "INSERT INTO notifications.suppressions (address, smtp_code, reason) VALUES (:a, 550, 'bounced')",
        a=sent.event.email,
    )

    with running_sender(settings):
        done = deliveries.wait_status(row.id, "suppressed")
        _, payload = events.until(
            lambda kind, p: kind == "delivery_failed" and p["delivery_id"] == str(row.id)
        )

    assert payload["smtp_code"] is None
    assert payload["reason"] == SUPPRESSED_REASON
    assert done.attempts == 0
    assert sink_client.messages(to=sent.event.email) == []


def test_with_the_mail_server_down_the_email_waits_and_goes_once_it_is_back(
    make_settings, deliveries, running_sender, invitation_sent, free_port
):
    port = free_port()
    settings = make_settings(port, max_attempts=100)
    sent = invitation_sent()
    row = deliveries.queue(sent)

    with running_sender(settings):
        waiting = deliveries.wait_for(
            row.id, lambda r: r.status == "queued" and r.attempts >= 2, "retried twice"
        )
        assert waiting.last_smtp_code is None
        assert "connect" in waiting.last_error
        with SmtpSink(smtp_port=port) as late_sink:
            done = deliveries.wait_status(row.id, "sent")
            [email] = late_sink.client().messages(to=sent.event.email)

    assert done.attempts > waiting.attempts >= 2
    assert sent.link in email["text"]


def test_thirty_emails_from_two_senders_arrive_exactly_once(
    make_settings, sink, deliveries, running_sender, sink_client, invitation_sent, wait_until
):
    batch = random_suffix()
    rows = [deliveries.queue(invitation_sent(email=f"bulk-{batch}-{n}@example.com")) for n in range(30)]
    settings = make_settings(sink.smtp_port, sender_concurrency=3, sender_batch_size=5)

    with running_sender(settings), running_sender(settings):
        wait_until(lambda: all(deliveries.get(row.id).status == "sent" for row in rows), what="all 30 sent")

    ours = [m for m in sink_client.messages() if m["rcpt_tos"][0].startswith(f"bulk-{batch}-")]
    by_message_id = Counter(m["message_id"] for m in ours)
    assert len(ours) == 30
    assert set(by_message_id.values()) == {1}
    assert set(by_message_id) == {f"<{row.id}@portal.localhost>" for row in rows}
    assert all(deliveries.get(row.id).attempts == 1 for row in rows)


def test_a_backlog_is_claimed_in_chunks_not_once_per_email(
    make_settings, sink, deliveries, running_sender, invitation_sent, wait_until, monkeypatch
):
    batch = random_suffix()
    rows = [deliveries.queue(invitation_sent(email=f"chunk-{batch}-{n}@example.com")) for n in range(60)]
    settings = make_settings(sink.smtp_port, sender_concurrency=4, sender_batch_size=20)
    claimed: list[int] = []
    claim = store.claim

    async def counting_claim(engine, limit, lease_seconds):
        jobs = await claim(engine, limit, lease_seconds)
        if jobs:
            claimed.append(len(jobs))
        return jobs

    monkeypatch.setattr(store, "claim", counting_claim)
    with running_sender(settings):
        wait_until(lambda: all(deliveries.get(row.id).status == "sent" for row in rows), what="all 60 sent")

    # 20 first, then at least 10 at a time: 5 claims (one claim per email taken made about 40).
    assert sum(claimed) >= 60
    assert len(claimed) <= 6, claimed


def test_a_delivery_claimed_by_a_crashed_sender_is_taken_over_and_sent(
    settings, deliveries, running_sender, sink_client, invitation_sent
):
    sent = invitation_sent()
    row = deliveries.queue(sent)
    deliveries.execute(
        "UPDATE notifications.deliveries SET status = 'sending', attempts = 1, "
        "lease_until = now() - interval '1 minute' WHERE id = :id",
        id=row.id,
    )

    with running_sender(settings):
        done = deliveries.wait_status(row.id, "sent")

    assert done.attempts == 2
    assert len(sink_client.messages(to=sent.event.email)) == 1


def test_a_delivery_still_leased_by_another_sender_is_left_alone(
    settings, deliveries, running_sender, sink_client, invitation_sent, wait_until
):
    leased, free = invitation_sent(), invitation_sent()
    leased_row, free_row = deliveries.queue(leased), deliveries.queue(free)
    deliveries.execute(
        "UPDATE notifications.deliveries SET status = 'sending', attempts = 1, "
        "lease_until = now() + interval '10 minutes' WHERE id = :id",
        id=leased_row.id,
    )

    with running_sender(settings):
        deliveries.wait_status(free_row.id, "sent")

    assert deliveries.get(leased_row.id).status == "sending"
    assert sink_client.messages(to=leased.event.email) == []
    deliveries.execute(
        "UPDATE notifications.deliveries SET status = 'failed' WHERE id = :id", id=leased_row.id
    )


def test_the_process_sends_and_stops_cleanly_on_sigterm(
    settings, sink, deliveries, invitation_sent, wait_until, infra
):
    sent = invitation_sent(email=random_email("process"))
    row = deliveries.queue(sent)
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": infra.database_url,
        "AMQP_URI": infra.amqp_uri,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.smtp_port),
        "SENDER_POLL_SECONDS": "0.05",
        "LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications.sender"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deliveries.wait_status(row.id, "sent")
        process.send_signal(signal.SIGTERM)
        _, logs = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, logs
    assert f"delivery {row.id} to {sent.event.email}: sent (250)" in logs
    assert "notifications-sender" in logs
    assert logs.rstrip().endswith("stopped")
    for secret in (sent.link, sent.token, sent.sealed_link):
        assert secret not in logs


def test_stopping_lets_the_email_in_flight_finish(
    settings, deliveries, running_sender, sink_client, invitation_sent, wait_until
):
    sent = invitation_sent()
    rule = sink_client.add_fault(delay_ms=1500, match=sent.event.email, count=1)
    row = deliveries.queue(sent)

    with running_sender(settings):
        # The server has the whole email (its DATA-stage delay has begun) and has not answered.
        wait_until(
            lambda: rule["id"] not in {r["id"] for r in sink_client.faults()}, what="the email's end sent"
        )
    # Leaving the block stopped the sender while the server was still taking the email.

    done = deliveries.get(row.id)
    assert (done.status, done.attempts) == ("sent", 1)
    assert len(sink_client.messages(to=sent.event.email)) == 1


def test_stopping_before_the_end_of_the_email_gives_it_back_unsent(
    settings, deliveries, running_sender, sink_client, invitation_sent, wait_until
):
    sent = invitation_sent()
    row = deliveries.queue(sent)
    # A slow server: the sender is stopped while the connection is being opened.
    [rule] = sink_client.set_faults(command_delay_ms=300, count=50)
    try:
        with running_sender(settings):
            wait_until(lambda: sink_client.faults()[0]["count"] < rule["count"], what="a reply delayed")
    finally:
        sink_client.clear_faults()

    back = deliveries.get(row.id)
    assert (back.status, back.attempts, back.lease_until) == ("queued", 0, None)
    assert sink_client.messages(to=sent.event.email) == []
    deliveries.execute("UPDATE notifications.deliveries SET status = 'failed' WHERE id = :id", id=row.id)


def test_a_send_whose_claim_cannot_be_renewed_stops_before_the_end_of_the_email(
    make_settings, sink, deliveries, running_sender, sink_client, invitation_sent, wait_until, monkeypatch
):
    """The server waits before every reply, so that an email on a new connection (six replies)
    takes longer than the claim's lease. While the lease cannot be renewed, the sender stops
    before the end of the data: the server never has the email, and the delivery is tried again,
    not recorded as sent. Once renewals work, it is sent, once."""
    settings = make_settings(
        sink.smtp_port, claim_lease_seconds=3, smtp_timeout_seconds=1.5, max_attempts=100
    )
    sent = invitation_sent()
    renewing = threading.Event()
    renew = store.renew

    async def renew_unless_broken(engine, leases, seconds):
        if not renewing.is_set():
            raise OSError("renewals refused by the test")
        return await renew(engine, leases, seconds)

    monkeypatch.setattr(store, "renew", renew_unless_broken)
    sink_client.set_faults(command_delay_ms=600)  # 6 replies: 3.6 s, the lease 3 s
    try:
        with running_sender(settings):
            row = deliveries.queue(sent)
            stopped = deliveries.wait_for(
                row.id, lambda r: r.attempts >= 1 and r.status == "queued", "stopped and queued again"
            )
            assert sink_client.messages(to=sent.event.email) == []
            renewing.set()
            done = deliveries.wait_status(row.id, "sent")
    finally:
        sink_client.clear_faults()

    assert "stopped before the end of the email" in stopped.last_error
    assert done.attempts > stopped.attempts
    assert len(sink_client.messages(to=sent.event.email)) == 1
