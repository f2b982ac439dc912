"""Pure rules of who sees what a property's contacts are shown (`visibility.py`): the defaults and
the chain of settings that decides. No I/O, no framework."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.common import ContactType
from shared.contracts.properties import VisibilityLevel, VisibilityRule, VisibilitySubject

# What each contact type sees when nobody has set anything (Rezi's defaults): landlords see what
# applicants said after a viewing, vendors do not. A pair not listed is not shown.
DEFAULT_VISIBILITY: dict[tuple[VisibilitySubject, ContactType], bool] = {
    (VisibilitySubject.VIEWING_FEEDBACK, ContactType.LANDLORD): True,
    (VisibilitySubject.VIEWING_FEEDBACK, ContactType.VENDOR): False,
}
SUBJECT_LABELS = {VisibilitySubject.VIEWING_FEEDBACK: "viewing feedback"}


@dataclass(frozen=True)
class VisibilityDecision:
    visible: bool
    chain: list[VisibilityRule]


def _shown(visible: bool) -> str:
    return "shown" if visible else "hidden"


def _shown_to(visible: bool) -> str:
    return "shown to" if visible else "hidden from"


def decide_visibility(
    subject: VisibilitySubject,
    contact_type: ContactType,
    organization_setting: bool | None,
    contact_setting: bool | None,
    property_setting: bool | None = None,
    property_name: str | None = None,
) -> VisibilityDecision:
    """Whether a contact of `contact_type` sees `subject`, and why: the default for the type, then
    the organization's setting for the type, then (for an item of a property, `property_name`
    given) the property's setting for the type, then the contact's own override; the last one
    that says something holds."""
    what, plural = SUBJECT_LABELS[subject], f"{contact_type.value}s"
    default = DEFAULT_VISIBILITY.get((subject, contact_type), False)
    steps: list[tuple[VisibilityLevel, bool | None, str]] = [
        (VisibilityLevel.DEFAULT, default, f"By default, {what} is {_shown_to(default)} {plural}."),
        (
            VisibilityLevel.ORGANIZATION,
            organization_setting,
            f"The organization has {what} {_shown_to(organization_setting)} {plural}."
            if organization_setting is not None
            else f"The organization has no setting for {plural}.",
        ),
    ]
    if property_name is not None:
        steps.append(
            (
                VisibilityLevel.PROPERTY,
                property_setting,
                f"{property_name} has {what} {_shown_to(property_setting)} {plural}."
                if property_setting is not None
                else f"{property_name} has no setting for {plural}.",
            )
        )
    steps += [
        (
            VisibilityLevel.CONTACT,
            contact_setting,
            f"This contact has {what} {_shown(contact_setting)}, whatever their type's setting."
            if contact_setting is not None
            else "This contact has no setting of their own.",
        ),
    ]
    deciding = max(i for i, (_, setting, _) in enumerate(steps) if setting is not None)
    chain = [
        VisibilityRule(level=level, setting=setting, decides=i == deciding, explanation=explanation)
        for i, (level, setting, explanation) in enumerate(steps)
    ]
    visible = steps[deciding][1]
    assert visible is not None
    return VisibilityDecision(visible=visible, chain=chain)
