"""Pure rules of the contacts service: no I/O, no framework."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from uuid import UUID

import phonenumbers

from shared.contracts.common import StaffRole
from shared.tokens import new_secret

STAFF_SESSION_LIFETIME = timedelta(hours=12)
API_TOKEN_PREFIX = "pat_"  # noqa: S105 - a visible prefix, not a secret


def display_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip()


class InvalidPhone(ValueError):
    pass


def normalize_phone(phone: str, locale: str) -> str:
    """Phone in E.164. A number without a country code is read in the country of the locale."""
    region = locale.split("-", 1)[1] if "-" in locale else None
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number for its country (add the country code, e.g. +44)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def can_edit_contacts(role: StaffRole) -> bool:
    return role != StaffRole.VIEWER


def can_manage_portal_access(role: StaffRole, granted: bool) -> bool:
    """Admins always may; anyone else needs the permission granted."""
    return role == StaffRole.ADMIN or (granted and role != StaffRole.VIEWER)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + new_secret()


# --- client groups ----------------------------------------------------------------------------


def group_chain(parents: Mapping[UUID, UUID | None], group_id: UUID) -> list[UUID]:
    """The group and the groups above it, nearest first, up to its top group."""
    chain: list[UUID] = []
    current: UUID | None = group_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def children_of(parents: Mapping[UUID, UUID | None]) -> dict[UUID, list[UUID]]:
    children: dict[UUID, list[UUID]] = {}
    for group_id, parent_id in parents.items():
        if parent_id is not None:
            children.setdefault(parent_id, []).append(group_id)
    return children


def group_and_descendants(children: Mapping[UUID, list[UUID]], group_id: UUID) -> list[UUID]:
    """The group first, then every group below it (breadth first), each once."""
    found = [group_id]
    for current in found:  # grows while it is walked
        found.extend(child for child in children.get(current, []) if child not in found)
    return found


def levels_from(children: Mapping[UUID, list[UUID]], group_id: UUID) -> int:
    """How many levels the group and the groups below it take: 1 for a group with no children."""
    below = [levels_from(children, child) for child in children.get(group_id, [])]
    return 1 + max(below, default=0)


def parent_problem(
    parents: Mapping[UUID, UUID | None], group_id: UUID | None, parent_id: UUID, max_depth: int
) -> str | None:
    """Why the group (None: a new one) cannot sit under `parent_id`, or None. `parents` maps every
    group of the organization to its parent. A group never sits inside itself or one of the groups
    below it (a cycle), and no group ends up more than `max_depth` levels down."""
    if parent_id == group_id:
        return "a group cannot be its own parent"
    above = group_chain(parents, parent_id)
    if group_id is not None and group_id in above:
        return "that group is inside this one, so it cannot also be its parent"
    levels = levels_from(children_of(parents), group_id) if group_id is not None else 1
    if len(above) + levels > max_depth:
        return f"groups can be at most {max_depth} levels deep, and this would make them deeper"
    return None
