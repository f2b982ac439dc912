"""Who sees viewing feedback: settings by contact type and per contact, and why a contact sees
what they see."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from pydantic import model_validator

from shared.contracts.common import ContactType, Request, RpcMethod, StaffActor, View


class VisibilitySubject(enum.StrEnum):
    VIEWING_FEEDBACK = "viewing_feedback"


class VisibilityLevel(enum.StrEnum):
    """Where a rule in the chain comes from, most general first."""

    DEFAULT = "default"
    ORGANIZATION = "organization"
    PROPERTY = "property"
    CONTACT = "contact"


class SetVisibility(Request):
    """Set whether contacts see a subject: for every contact of a type in the organization
    (`contact_type`), for every contact of a type on one property (`contact_type` and
    `property_id`, which beats the organization's), or for one contact (`contact_id`, which beats
    both). `visible` null removes the setting: the level above decides again."""

    actor: StaffActor
    subject: VisibilitySubject
    contact_type: ContactType | None = None
    contact_id: UUID | None = None
    property_id: UUID | None = None
    visible: bool | None

    @model_validator(mode="after")
    def _one_target(self) -> SetVisibility:
        if (self.contact_type is None) == (self.contact_id is None):
            raise ValueError("give either contact_type or contact_id, not both")
        if self.property_id is not None and self.contact_type is None:
            raise ValueError("a property's setting is for a contact_type")
        return self


class VisibilitySettingView(View):
    """The setting as it now stands; `visible` null: none at this level (it was removed)."""

    organization_id: UUID
    subject: VisibilitySubject
    contact_type: ContactType | None
    contact_id: UUID | None
    property_id: UUID | None = None
    visible: bool | None
    updated_at: datetime


class ListVisibilitySettings(Request):
    organization_id: UUID
    subject: VisibilitySubject


class TypeVisibility(View):
    """For every contact of a type: the platform's default, the organization's setting (None: it
    has none) and what holds, before any contact's own setting."""

    contact_type: ContactType
    default: bool
    setting: bool | None
    visible: bool


class VisibilityByType(View):
    subject: VisibilitySubject
    items: list[TypeVisibility]


class ExplainVisibility(Request):
    """Staff ask why a contact can (or cannot) see a subject; on one property (`property_id`),
    the property's setting is in the chain too."""

    organization_id: UUID
    contact_id: UUID
    subject: VisibilitySubject
    property_id: UUID | None = None


class VisibilityRule(View):
    """One link of the chain: `setting` is None where that level says nothing; `decides` marks the
    rule whose setting holds (the last one that says something)."""

    level: VisibilityLevel
    setting: bool | None
    decides: bool
    explanation: str


class VisibilityExplanation(View):
    contact_id: UUID
    contact_type: ContactType
    subject: VisibilitySubject
    visible: bool
    chain: list[VisibilityRule]


SET_VISIBILITY = RpcMethod("properties", "set_visibility", SetVisibility, VisibilitySettingView)
EXPLAIN_VISIBILITY = RpcMethod("properties", "explain_visibility", ExplainVisibility, VisibilityExplanation)
LIST_VISIBILITY_SETTINGS = RpcMethod(
    "properties", "list_visibility_settings", ListVisibilitySettings, VisibilityByType
)
