from __future__ import annotations

from datetime import timedelta

from pydantic import AnyHttpUrl, Field

from shared.settings import SealingServiceSettings
from shared.throttle import ThrottleSettings


class InvitationsSettings(SealingServiceSettings, ThrottleSettings):
    # Every link in an email starts with this, whatever Host header a request came with.
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8000")
    invitation_expiry_hours: float = Field(default=7 * 24, gt=0, le=90 * 24)
    resend_cooldown_seconds: int = Field(default=60, ge=0, le=86_400)
    invitations_per_staff_per_hour: int = Field(default=5_000, ge=1)
    reset_expiry_minutes: float = Field(default=60, gt=0, le=24 * 60)
    resets_per_account_per_hour: int = Field(default=3, ge=1)
    session_lifetime_hours: float = Field(default=12, gt=0, le=24 * 30)
    view_as_lifetime_minutes: float = Field(default=15, gt=0, le=24 * 60)
    # Answered forgot-password requests are deleted this long after (THROTTLE_PRUNE_SECONDS).
    reset_request_retention_hours: float = Field(default=24, gt=0, le=24 * 365)
    expiry_sweep_seconds: float = Field(default=30, gt=0)
    reset_poll_seconds: float = Field(default=0.5, gt=0)
    bulk_poll_seconds: float = Field(default=0.2, gt=0)
    bulk_batch_size: int = Field(default=100, ge=1, le=500)
    # One tick of the bulk timer works through batches for at most this long.
    bulk_tick_seconds: float = Field(default=5.0, gt=0, le=60)

    @property
    def invitation_expiry(self) -> timedelta:
        return timedelta(hours=self.invitation_expiry_hours)

    @property
    def resend_cooldown(self) -> timedelta:
        return timedelta(seconds=self.resend_cooldown_seconds)

    @property
    def reset_expiry(self) -> timedelta:
        return timedelta(minutes=self.reset_expiry_minutes)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_lifetime_hours)

    @property
    def view_as_lifetime(self) -> timedelta:
        return timedelta(minutes=self.view_as_lifetime_minutes)

    @property
    def reset_request_retention(self) -> timedelta:
        return timedelta(hours=self.reset_request_retention_hours)

    def link(self, path: str, token: str) -> str:
        return f"{str(self.public_base_url).rstrip('/')}/{path}/{token}"
