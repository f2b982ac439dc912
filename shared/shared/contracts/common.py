"""Types every contract uses: base models, ids, enums, validated strings."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


class Request(BaseModel):
    """An RPC payload. Strict: an unknown field is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    schema_version: int = 1


class View(BaseModel):
    """An RPC answer. Lenient on unknown fields, so a producer can add fields first."""

    model_config = ConfigDict(extra="ignore")
    schema_version: int = 1


class ContactType(enum.StrEnum):
    TENANT = "tenant"
    LANDLORD = "landlord"
    VENDOR = "vendor"
    APPLICANT = "applicant"
    CUSTOMER = "customer"


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    VIEWER = "viewer"


def _check_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None


Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_check_email)]


def normalize_email(email: str) -> str:
    """The form two emails are compared in: the same mailbox written twice is one person."""
    return email.strip().lower()


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
# An opaque secret (token, session id) as it travels between gateway and service.
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
# Where a credential request came from, as the gateway's server saw it (a trusted proxy's
# X-Forwarded-For applied, nobody else's): what the credential throttle counts per client.
ClientAddress = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# A client's name for one request, so that sending it again (after a timeout, a double click)
# does it once: printable ASCII without spaces, e.g. a UUID.
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
]


class StaffActor(Request):
    """Who asks: the gateway passes the authenticated staff member, with their role, with every
    staff command, and a service checks the role where it owns the rule (properties refuses a
    viewer's write). `role` is None only on an actor a service builds for its own later work without
    the role to hand (the invitations bulk worker, from a stored job); properties refuses every
    write from such an actor."""

    organization_id: UUID
    staff_member_id: UUID
    role: StaffRole | None = None


class Problem(View):
    """One reason something cannot be done, for a person to read."""

    code: str
    message: str


def utc_now() -> datetime:
    return datetime.now(UTC)


Req = TypeVar("Req", bound=BaseModel)
Resp = TypeVar("Resp", bound=BaseModel)


# Who may call an RPC method, by the platform process that calls it: the gateway, which signs
# people in and out, unless a method names more. The serving service checks it against the
# broker login that published the call (`shared.broker_access`); the broker vouches for the login.
GATEWAY = "gateway"


@dataclass(frozen=True)
class RpcMethod(Generic[Req, Resp]):
    """One RPC method's contract: where it lives, what goes in and out, and who may call it."""

    service: str
    name: str
    request: type[Req]
    response: type[Resp]
    callers: tuple[str, ...] = (GATEWAY,)

    def __post_init__(self) -> None:
        RPC_METHODS[f"{self.service}.{self.name}"] = self


# Every RpcMethod, by its routing key ("<service>.<method>").
RPC_METHODS: dict[str, RpcMethod[Any, Any]] = {}


class Empty(View):
    pass


class Page(View):
    total: int = Field(ge=0)
    limit: int
    offset: int
