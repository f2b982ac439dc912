"""Pure rules of the properties service: no I/O, no framework."""

from __future__ import annotations

from datetime import date

from shared.contracts.common import ContactType
from shared.contracts.properties import PropertyRole

# The contact type a contact must have to hold each role on a property.
CONTACT_TYPE_FOR_ROLE: dict[PropertyRole, ContactType] = {
    PropertyRole.LANDLORD: ContactType.LANDLORD,
    PropertyRole.VENDOR: ContactType.VENDOR,
}
LEASE_TENANT_TYPE = ContactType.TENANT


def lease_is_active(start_date: date, end_date: date | None, on: date) -> bool:
    """A lease is active from its start date through its end date, both days included; without an
    end date it runs on."""
    return start_date <= on and (end_date is None or end_date >= on)


def end_date_problem(start_date: date, end_date: date) -> str | None:
    """Why a lease cannot end on `end_date`, or None if it can."""
    if end_date < start_date:
        return f"a lease cannot end ({end_date.isoformat()}) before it starts ({start_date.isoformat()})"
    return None


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
