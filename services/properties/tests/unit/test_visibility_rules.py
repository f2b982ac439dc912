"""The rules of who sees viewing feedback (`properties.rules.visibility`)."""

from properties.rules import visibility as rules
from shared.contracts.common import ContactType
from shared.contracts.properties import VisibilityLevel, VisibilitySubject

FEEDBACK = VisibilitySubject.VIEWING_FEEDBACK


def decided(contact_type, organization=None, contact=None):
    decision = rules.decide_visibility(FEEDBACK, contact_type, organization, contact)
    return decision.visible, [rule.level for rule in decision.chain if rule.decides]


def test_landlords_see_viewing_feedback_and_vendors_do_not_by_default():
    assert decided(ContactType.LANDLORD) == (True, [VisibilityLevel.DEFAULT])
    assert decided(ContactType.VENDOR) == (False, [VisibilityLevel.DEFAULT])


def test_a_type_with_no_default_sees_nothing():
    assert decided(ContactType.APPLICANT) == (False, [VisibilityLevel.DEFAULT])


def test_the_organization_setting_beats_the_default():
    assert decided(ContactType.LANDLORD, organization=False) == (False, [VisibilityLevel.ORGANIZATION])
    assert decided(ContactType.VENDOR, organization=True) == (True, [VisibilityLevel.ORGANIZATION])


def test_the_contact_override_beats_the_organization_setting_and_the_default():
    assert decided(ContactType.LANDLORD, organization=True, contact=False) == (
        False,
        [VisibilityLevel.CONTACT],
    )
    assert decided(ContactType.VENDOR, organization=False, contact=True) == (True, [VisibilityLevel.CONTACT])
    assert decided(ContactType.VENDOR, contact=True) == (True, [VisibilityLevel.CONTACT])


def test_the_chain_lists_every_level_in_order_with_what_each_says():
    decision = rules.decide_visibility(FEEDBACK, ContactType.VENDOR, None, True)
    assert [(rule.level, rule.setting, rule.decides) for rule in decision.chain] == [
        (VisibilityLevel.DEFAULT, False, False),
        (VisibilityLevel.ORGANIZATION, None, False),
        (VisibilityLevel.CONTACT, True, True),
    ]
    assert decision.chain[0].explanation == "By default, viewing feedback is hidden from vendors."
    assert decision.chain[1].explanation == "The organization has no setting for vendors."
