"""Pure rules of the contacts service: no I/O, no framework."""

from __future__ import annotations

from datetime import timedelta

import phonenumbers

from shared.contracts.common import StaffRole
from shared.tokens import new_secret

STAFF_SESSION_LIFETIME = timedelta(hours=12)
MAX_FAILED_STAFF_LOGINS = 5
STAFF_LOCKOUT = timedelta(minutes=15)
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
