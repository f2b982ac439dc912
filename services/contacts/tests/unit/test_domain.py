import pytest

from contacts import domain
from shared.contracts.common import StaffRole
from shared.tokens import digest


@pytest.mark.parametrize(
    ("phone", "locale", "expected"),
    [
        ("020 7946 0958", "en-GB", "+442079460958"),
        ("+1 (212) 555-0100", "en-GB", "+12125550100"),
        ("(212) 555-0100", "en-US", "+12125550100"),
    ],
)
def test_phones_are_stored_in_e164(phone, locale, expected):
    assert domain.normalize_phone(phone, locale) == expected


@pytest.mark.parametrize("phone", ["12345", "phone me", "020 7946"])
def test_invalid_phones_are_refused(phone):
    with pytest.raises(domain.InvalidPhone):
        domain.normalize_phone(phone, "en-GB")


def test_who_may_manage_portal_access():
    assert domain.can_manage_portal_access(StaffRole.ADMIN, granted=False)
    assert domain.can_manage_portal_access(StaffRole.AGENT, granted=True)
    assert not domain.can_manage_portal_access(StaffRole.AGENT, granted=False)
    assert not domain.can_manage_portal_access(StaffRole.VIEWER, granted=True)


def test_api_tokens_are_long_prefixed_and_stored_as_their_digest():
    token = domain.new_api_token()
    assert token.startswith("pat_") and len(token) > 40
    assert digest(token) != token and len(digest(token)) == 64
