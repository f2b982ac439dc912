from datetime import date

import pytest

from properties import domain
from shared.contracts.common import ContactType
from shared.contracts.properties import PropertyRole

TODAY = date(2025, 6, 15)


def test_a_future_lease_is_not_yet_active():
    assert not domain.lease_is_active(date(2025, 6, 16), None, TODAY)
    assert not domain.lease_is_active(date(2025, 7, 1), date(2026, 6, 30), TODAY)


def test_an_ended_lease_is_inactive():
    assert not domain.lease_is_active(date(2024, 6, 1), date(2025, 6, 14), TODAY)


def test_an_open_ended_lease_is_active_from_its_start():
    assert domain.lease_is_active(date(2020, 1, 1), None, TODAY)
    assert domain.lease_is_active(TODAY, None, TODAY)


def test_a_lease_is_still_active_on_its_end_date():
    assert domain.lease_is_active(date(2024, 6, 15), TODAY, TODAY)
    assert domain.lease_is_active(TODAY, TODAY, TODAY)


def test_a_lease_cannot_end_before_it_starts():
    assert domain.end_date_problem(TODAY, date(2025, 6, 14)) is not None
    assert domain.end_date_problem(TODAY, TODAY) is None
    assert domain.end_date_problem(TODAY, date(2026, 1, 1)) is None


@pytest.mark.parametrize(("a", "b"), [("Flat 1", "flat 1"), ("Flat 1", "  Flat   1 "), ("Straße", "STRASSE")])
def test_unit_names_compare_ignoring_case_and_spacing(a, b):
    assert domain.unit_name_key(a) == domain.unit_name_key(b)


def test_different_unit_names_stay_different():
    assert domain.unit_name_key("Flat 1") != domain.unit_name_key("Flat 11")


def test_a_one_line_address_skips_a_missing_second_line():
    assert domain.one_line_address("1 High St", None, "Leeds", "LS1 1AA") == "1 High St, Leeds, LS1 1AA"
    assert (
        domain.one_line_address("1 High St", "Flat 2", "Leeds", "LS1 1AA")
        == "1 High St, Flat 2, Leeds, LS1 1AA"
    )


def test_each_role_needs_a_contact_of_its_type():
    assert domain.CONTACT_TYPE_FOR_ROLE[PropertyRole.LANDLORD] == ContactType.LANDLORD
    assert domain.CONTACT_TYPE_FOR_ROLE[PropertyRole.VENDOR] == ContactType.VENDOR
    assert set(domain.CONTACT_TYPE_FOR_ROLE) == set(PropertyRole)


def test_a_contact_of_the_wrong_type_is_named_with_its_type():
    problem = domain.contact_type_problem(
        "Tess Tenant", ContactType.TENANT, ContactType.LANDLORD, "linked as landlord"
    )
    assert problem is not None
    assert "Tess Tenant" in problem and "tenant contact" in problem and "landlord" in problem
    assert (
        domain.contact_type_problem("Lou Lord", ContactType.LANDLORD, ContactType.LANDLORD, "linked") is None
    )
