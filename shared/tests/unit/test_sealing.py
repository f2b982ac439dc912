"""A sealed link names the one email it may go out in, hides it, and opens with the current and old
keys until they are retired."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from shared.sealing import CANNOT_OPEN, UNBOUND, LinkSealer, SealError

LINK = "https://portal.example.com/reset/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
EXPIRES = datetime(2031, 5, 4, 12, 30, tzinfo=UTC)


def new_key() -> str:
    return Fernet.generate_key().decode()


def sealed_with(sealer: LinkSealer, subject: uuid.UUID) -> str:
    return sealer.seal(
        LINK,
        recipient="  Tess.Tenant@Example.COM ",
        purpose="password_reset",
        subject=subject,
        expires_at=EXPIRES,
    )


def test_a_sealed_link_names_its_recipient_purpose_subject_and_expiry_and_shows_none_of_them():
    sealer, subject = LinkSealer([new_key()]), uuid.uuid4()

    sealed = sealed_with(sealer, subject)

    for readable in ("reset", "tess", "Tess", "password_reset", str(subject), "2031"):
        assert readable not in sealed
    opened = sealer.open(sealed)
    assert opened.link == LINK
    assert opened.recipient == "tess.tenant@example.com"  # normalized, as deliveries compare it
    assert (opened.purpose, opened.subject, opened.expires_at) == ("password_reset", subject, EXPIRES)
    assert LINK not in repr(opened)


def test_the_new_key_seals_old_keys_still_open_and_a_retired_key_opens_nothing():
    old, new = new_key(), new_key()
    before_rotation = sealed_with(LinkSealer([old]), uuid.uuid4())
    rotated = LinkSealer([new, old])

    assert rotated.open(before_rotation).link == LINK  # sealed before the rotation, still on its way
    after_rotation = sealed_with(rotated, uuid.uuid4())
    assert LinkSealer([new]).open(after_rotation).link == LINK  # the new key sealed it
    with pytest.raises(SealError, match="cannot be opened"):
        LinkSealer([old]).open(after_rotation)

    retired = LinkSealer([new])  # the old key is removed once its links have expired
    with pytest.raises(SealError) as refused:
        retired.open(before_rotation)
    assert str(refused.value) == CANNOT_OPEN


@pytest.mark.parametrize(
    "tamper",
    [
        lambda sealed: sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:],
        lambda sealed: sealed[:40],
        lambda sealed: "not a sealed link",
        lambda sealed: None,
    ],
    ids=["one character changed", "cut short", "not a token", "missing"],
)
def test_an_altered_or_missing_seal_opens_to_nothing(tamper):
    sealer = LinkSealer([new_key()])
    with pytest.raises(SealError) as refused:
        sealer.open(tamper(sealed_with(sealer, uuid.uuid4())))
    assert str(refused.value) == CANNOT_OPEN


def test_a_link_sealed_alone_as_before_is_refused_for_naming_no_recipient():
    key = new_key()
    unbound = Fernet(key.encode()).encrypt(LINK.encode()).decode()  # how links were sealed before issue 12
    with pytest.raises(SealError) as refused:
        LinkSealer([key]).open(unbound)
    assert str(refused.value) == UNBOUND
    assert LINK not in str(refused.value)


def test_a_sealer_needs_a_key_and_an_expiry_with_its_time_zone():
    with pytest.raises(ValueError):
        LinkSealer([])
    with pytest.raises(ValueError):
        LinkSealer(["not a fernet key"])
    with pytest.raises(ValueError):
        LinkSealer([new_key()]).seal(
            LINK,
            recipient="a@example.com",
            purpose="invitation",
            subject=uuid.uuid4(),
            expires_at=datetime.now(),
        )
    aware = datetime.now(UTC) + timedelta(days=7)
    sealer = LinkSealer([new_key()])
    sealed = sealer.seal(
        LINK, recipient="a@example.com", purpose="invitation", subject=uuid.uuid4(), expires_at=aware
    )
    assert sealer.open(sealed).expires_at == aware
