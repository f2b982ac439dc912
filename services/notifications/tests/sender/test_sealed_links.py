"""The sender opens a sealed link only for the email it names (issue 12): a delivery whose
recipient is not the seal's, or whose link expired while it waited, is failed with the reason and
nothing is sent; after a key rotation the old key still opens, a retired one does not. Against a
real SMTP sink, on the real PostgreSQL and RabbitMQ."""

import logging
from datetime import timedelta

from cryptography.fernet import Fernet

from notifications import domain
from shared.contracts.common import utc_now
from shared.sealing import CANNOT_OPEN, LinkSealer
from shared.testing.helpers import random_email


def test_a_delivery_to_another_address_or_past_its_links_expiry_is_refused_and_nothing_is_sent(
    settings, deliveries, running_sender, sink_client, events, invitation_sent, wait_until, caplog
):
    diverted = invitation_sent()
    row = deliveries.queue(diverted)
    attacker = random_email("mallory")
    # Whoever could change a queued row (or forge its event) names their own address.
    deliveries.execute(
        "UPDATE notifications.deliveries SET recipient = :attacker WHERE id = :id",
        attacker=attacker,
        id=row.id,
    )
    late = invitation_sent(expires_at=utc_now() + timedelta(seconds=1))
    late_row = deliveries.queue(late)
    assert late_row.status == "queued"
    wait_until(lambda: utc_now() > late.event.expires_at, what="the link's expiry")
    caplog.set_level(logging.INFO)

    with running_sender(settings):
        refused = deliveries.wait_status(row.id, "failed")
        expired = deliveries.wait_status(late_row.id, "failed")
        ours = {str(row.id), str(late_row.id)}
        failed: dict[str, dict] = {}
        while len(failed) < 2:
            _, payload = events.until(lambda kind, p: kind == "delivery_failed" and p["delivery_id"] in ours)
            failed[payload["delivery_id"]] = payload

    assert (refused.last_error, refused.attempts, refused.sent_at) == (domain.OTHER_RECIPIENT, 0, None)
    assert (expired.last_error, expired.attempts) == (domain.LINK_EXPIRED, 0)
    assert failed[str(row.id)]["reason"] == domain.OTHER_RECIPIENT
    assert failed[str(late_row.id)]["reason"] == domain.LINK_EXPIRED
    assert all(payload["link_refused"] for payload in failed.values())
    for address in (attacker, diverted.event.email, late.event.email):
        assert sink_client.messages(to=address) == []
    assert f"delivery {row.id}: not sent, {domain.OTHER_RECIPIENT}" in caplog.text
    for secret in (diverted.link, diverted.sealed_link, late.link, attacker):
        assert secret not in caplog.text


def test_after_a_rotation_the_sender_opens_old_keys_links_and_refuses_a_retired_keys(
    make_settings, sink, deliveries, running_sender, sink_client, invitation_sent
):
    old, new, retired = (Fernet.generate_key().decode() for _ in range(3))
    # Both were queued while their keys were still configured.
    queued_with = LinkSealer([new, old, retired])
    before_rotation = invitation_sent(sealer=LinkSealer([old]))
    long_ago = invitation_sent(sealer=LinkSealer([retired]))
    opened_row = deliveries.queue(before_rotation, queued_with)
    retired_row = deliveries.queue(long_ago, queued_with)
    rotated = make_settings(sink.smtp_port, link_sealing_key=new, link_sealing_old_keys=old)

    with running_sender(rotated):
        deliveries.wait_status(opened_row.id, "sent")
        refused = deliveries.wait_status(retired_row.id, "failed")

    [email] = sink_client.messages(to=before_rotation.event.email)
    assert before_rotation.link in email["text"]
    assert refused.last_error == f"refused: {CANNOT_OPEN}"
    assert sink_client.messages(to=long_ago.event.email) == []
