from __future__ import annotations

from shared.throttle import ThrottleSettings


class ContactsSettings(ThrottleSettings):
    """The contacts service checks staff passwords, so it has the credential throttle's bounds."""
