"""Pure rules of properties, their units and the contacts linked to them (`estate.py`). No I/O, no
framework."""

from __future__ import annotations

from shared.contracts.common import ContactType
from shared.contracts.properties import PropertyRole

# The contact type a contact must have to hold each role on a property.
CONTACT_TYPE_FOR_ROLE: dict[PropertyRole, ContactType] = {
    PropertyRole.LANDLORD: ContactType.LANDLORD,
    PropertyRole.VENDOR: ContactType.VENDOR,
    PropertyRole.APPLICANT: ContactType.APPLICANT,
}


def unit_name_key(name: str) -> str:
    """The form two unit names are compared in: "Flat 1" and " flat  1" are one unit."""
    return " ".join(name.split()).casefold()


def one_line_address(line1: str, line2: str | None, city: str, postcode: str) -> str:
    return ", ".join(part for part in (line1, line2, city, postcode) if part)


def contact_type_problem(
    display_name: str, contact_type: ContactType, required: ContactType, as_what: str
) -> str | None:
    """Why a contact of `contact_type` cannot be linked `as_what` (which needs `required`), or None."""
    if contact_type == required:
        return None
    return (
        f"{display_name} is a {contact_type.value} contact and cannot be {as_what}: "
        f"only a {required.value} contact can"
    )
