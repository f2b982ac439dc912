from __future__ import annotations

from email.utils import parseaddr
from functools import cached_property

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator

from shared.settings import SealingServiceSettings


class NotificationsSettings(SealingServiceSettings):
    """Settings of both notifications processes: the nameko service and the SMTP sender."""

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # STARTTLS after connecting (port 587), or TLS from the first byte (port 465); not both.
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    # Each SMTP command (connect, EHLO, MAIL, RCPT, DATA, QUIT) gives up after this long.
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=300)
    mail_from: str = "Portal <no-reply@portal.localhost>"
    # Worker coroutines of one sender process, each with one SMTP connection it reuses.
    sender_concurrency: int = Field(default=4, ge=1, le=100)
    # The most deliveries one sender process holds claimed and not yet sent.
    sender_batch_size: int = Field(default=20, ge=1, le=1000)
    sender_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    # A claimed delivery whose sender has not answered by then is claimed again by any sender.
    claim_lease_seconds: float = Field(default=120, gt=0, le=3600)
    max_attempts: int = Field(default=8, ge=1, le=100)
    # Where the portal is, for links to its pages in emails (the same setting as the gateway's).
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8000")
    retry_base_seconds: float = Field(default=5, gt=0, le=3600)
    retry_cap_seconds: float = Field(default=900, gt=0, le=86_400)

    @field_validator("mail_from")
    @classmethod
    def _an_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError('MAIL_FROM must be an address, e.g. "Portal <no-reply@example.com>"')
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NotificationsSettings:
        if self.smtp_starttls and self.smtp_use_tls:
            raise ValueError("set SMTP_STARTTLS or SMTP_USE_TLS, not both")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set SMTP_USERNAME and SMTP_PASSWORD together")
        if self.retry_cap_seconds < self.retry_base_seconds:
            raise ValueError("RETRY_CAP_SECONDS must be at least RETRY_BASE_SECONDS")
        # A send must end well within its lease, or another sender takes the row and sends again.
        if self.claim_lease_seconds < 2 * self.smtp_timeout_seconds:
            raise ValueError("CLAIM_LEASE_SECONDS must be at least twice SMTP_TIMEOUT_SECONDS")
        return self

    def portal_url(self, path: str) -> str:
        """An ordinary (not secret) link to a portal page: `path` starts with a slash."""
        return f"{str(self.public_base_url).rstrip('/')}{path}"

    @cached_property  # parsed once: the sender uses it for every email
    def mail_from_address(self) -> str:
        return parseaddr(self.mail_from)[1]

    @cached_property
    def mail_domain(self) -> str:
        return self.mail_from_address.rsplit("@", 1)[1]
