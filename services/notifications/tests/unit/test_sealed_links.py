"""The rule that a sealed link goes out only in the email it names (`domain.link_refusal`,
`domain.open_link`): its recipient, its purpose, its subject, before its expiry."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from notifications import domain
from shared.contracts.notifications import DeliveryPurpose
from shared.sealing import LinkSealer

LINK = "https://portal.example.com/invite/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
NOW = datetime(2031, 5, 4, 12, 0, tzinfo=UTC)
SEALER = LinkSealer([Fernet.generate_key().decode()])
INVITATION = uuid.uuid4()
SEALED = SEALER.seal(
    LINK,
    recipient="tess@example.com",
    purpose=DeliveryPurpose.INVITATION,
    subject=INVITATION,
    expires_at=NOW + timedelta(days=7),
)
DELIVERY = {
    "purpose": DeliveryPurpose.INVITATION,
    "subject_id": INVITATION,
    "recipient": "tess@example.com",
    "now": NOW,
}


def test_the_link_goes_out_in_the_email_it_names_however_its_address_is_written():
    assert domain.open_link(SEALER, SEALED, **DELIVERY) == LINK
    assert domain.open_link(SEALER, SEALED, **{**DELIVERY, "recipient": " Tess@EXAMPLE.com"}) == LINK


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"recipient": "mallory@example.net"}, domain.OTHER_RECIPIENT),
        ({"purpose": DeliveryPurpose.PASSWORD_RESET}, domain.OTHER_PURPOSE),
        ({"subject_id": uuid.uuid4()}, domain.OTHER_SUBJECT),
        ({"now": NOW + timedelta(days=7)}, domain.LINK_EXPIRED),
        ({"now": NOW + timedelta(days=30)}, domain.LINK_EXPIRED),
    ],
    ids=["another recipient", "another purpose", "another subject", "at its expiry", "after it"],
)
def test_any_other_email_is_refused_with_its_reason_and_never_the_link(change, reason):
    with pytest.raises(domain.LinkRefused) as refused:
        domain.open_link(SEALER, SEALED, **{**DELIVERY, **change})
    assert str(refused.value) == reason
    assert "invite" not in reason and "@" not in reason
    assert domain.link_refusal(SEALER.open(SEALED), **{**DELIVERY, **change}) == reason


def test_a_link_no_current_key_opens_is_refused():
    with pytest.raises(domain.LinkRefused, match="cannot be opened"):
        domain.open_link(LinkSealer([Fernet.generate_key().decode()]), SEALED, **DELIVERY)
    with pytest.raises(domain.LinkRefused, match="cannot be opened"):
        domain.open_link(SEALER, None, **DELIVERY)
