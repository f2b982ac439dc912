"""The rules of properties, units and linked contacts (`properties.rules.estate`)."""

import pytest

from properties.rules import estate as rules
from shared.contracts.common import ContactType
from shared.contracts.properties import PropertyRole


@pytest.mark.parametrize(("a", "b"), [("Flat 1", "flat 1"), ("Flat 1", "  Flat   1 "), ("Straße", "STRASSE")])
def test_unit_names_compare_ignoring_case_and_spacing(a, b):
    assert rules.unit_name_key(a) == rules.unit_name_key(b)


def test_different_unit_names_stay_different():
    assert rules.unit_name_key("Flat 1") != rules.unit_name_key("Flat 11")


def test_a_one_line_address_skips_a_missing_second_line():
    assert rules.one_line_address("1 High St", None, "Leeds", "LS1 1AA") == "1 High St, Leeds, LS1 1AA"
    assert (
        rules.one_line_address("1 High St", "Flat 2", "Leeds", "LS1 1AA")
        == "1 High St, Flat 2, Leeds, LS1 1AA"
    )


def test_each_role_needs_a_contact_of_its_type():
    assert rules.CONTACT_TYPE_FOR_ROLE[PropertyRole.LANDLORD] == ContactType.LANDLORD
    assert rules.CONTACT_TYPE_FOR_ROLE[PropertyRole.VENDOR] == ContactType.VENDOR
    assert set(rules.CONTACT_TYPE_FOR_ROLE) == set(PropertyRole)


def test_a_contact_of_the_wrong_type_is_named_with_its_type():
    problem = rules.contact_type_problem(
        "Tess Tenant", ContactType.TENANT, ContactType.LANDLORD, "linked as landlord"
    )
    assert problem is not None
    assert "Tess Tenant" in problem and "tenant contact" in problem and "landlord" in problem
    assert (
        rules.contact_type_problem("Lou Lord", ContactType.LANDLORD, ContactType.LANDLORD, "linked") is None
    )
