"""Errors that cross a service boundary.

A service raises one of these; nameko sends its class name (`exc_type`) and its args over the wire;
callers turn it back into the same class with `from_remote`. The gateway maps each class to an HTTP
status in one table (`portal_gateway/errors.py`).

`args` is `(message, details_as_json)`: nameko stringifies every non-string argument it sends, so
the details travel as one JSON string and come back with their types intact.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class ServiceError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, message: str, details: dict[str, Any] | str | None = None) -> None:
        if isinstance(details, str):
            details = json.loads(details) if details else {}
        self.message = message
        self.details: dict[str, Any] = details or {}
        super().__init__(message, json.dumps(self.details, default=str))

    def __str__(self) -> str:
        return self.message


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class DuplicateContact(Conflict):
    """Another active contact of the organization has this email; details name it."""

    code = "duplicate_contact"


class InvalidInput(ServiceError):
    """details: {"errors": [{"field": ..., "message": ...}]}"""

    code = "invalid_input"


class PermissionDenied(ServiceError):
    code = "permission_denied"


class NotEligible(ServiceError):
    """details: {"reasons": [{"code": ..., "message": ...}, ...]}: every failing reason."""

    code = "not_eligible"


class RateLimited(ServiceError):
    """details: {"retry_after": seconds}"""

    code = "rate_limited"

    @property
    def retry_after(self) -> int:
        return int(self.details.get("retry_after", 1))


class InvalidCredentials(ServiceError):
    code = "invalid_credentials"


class TokenNotUsable(ServiceError):
    """An invitation or reset link that cannot be used; details: {"reason": expired|superseded|...}"""

    code = "token_not_usable"


class PasswordRejected(ServiceError):
    """The password breaks the policy; details: {"errors": [...]}"""

    code = "password_rejected"


class ServiceUnavailable(ServiceError):
    """Raised by callers: the broker is unreachable or no instance of the service exists."""

    code = "service_unavailable"


class ServiceTimeout(ServiceError):
    """Raised by callers: no reply within the call's timeout."""

    code = "service_timeout"


ERRORS_BY_NAME: dict[str, type[ServiceError]] = {
    cls.__name__: cls
    for cls in (
        ServiceError,
        NotFound,
        Conflict,
        DuplicateContact,
        InvalidInput,
        PermissionDenied,
        NotEligible,
        RateLimited,
        InvalidCredentials,
        TokenNotUsable,
        PasswordRejected,
        ServiceUnavailable,
        ServiceTimeout,
    )
}


# What the caller may not do or asked wrongly (4xx at the gateway): the service worked as it should,
# and its log says so in one line, without a traceback (shared/shared/logs.py, OneLineContractErrors).
REFUSALS: tuple[type[ServiceError], ...] = (
    NotFound,
    Conflict,
    InvalidInput,
    PermissionDenied,
    NotEligible,
    RateLimited,
    InvalidCredentials,
    TokenNotUsable,
    PasswordRejected,
)
# What another service or the broker could not do for this one (5xx at the gateway): one line too,
# since the traceback would show the call here, never the fault there.
OUTAGES: tuple[type[ServiceError], ...] = (ServiceUnavailable, ServiceTimeout)


def from_remote(exc_type: str | None, exc_args: list[Any] | None, value: str | None) -> Exception:
    """The exception to raise for a remote error: ours by class name, else a generic one."""
    cls = ERRORS_BY_NAME.get(exc_type or "")
    if cls is not None and exc_args:
        message = str(exc_args[0])
        details = exc_args[1] if len(exc_args) > 1 else None
        return cls(message, details if isinstance(details, (str, dict)) else None)
    return RemoteFailure(exc_type or "Exception", value or "")


class RemoteFailure(Exception):
    """A remote error that is not part of any contract: a bug or an outage in the callee."""

    def __init__(self, exc_type: str, value: str) -> None:
        self.exc_type = exc_type
        self.value = value
        super().__init__(f"{exc_type}: {value}")
