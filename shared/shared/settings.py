"""Settings every process reads from the environment: typed, validated, failing fast.

Each service subclasses `CommonSettings` with its own fields. Nothing here opens a connection.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.sealing import LinkSealer

# Development-only secrets. `CommonSettings` refuses them outside development and test.
DEV_LINK_SEALING_KEY = "ZGV2ZWxvcG1lbnQtb25seS1ub3QtYS1yZWFsLWtleSE="


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+psycopg://postgres@localhost:5432/portal"
    amqp_uri: str = "amqp://guest:guest@localhost:5672/"
    log_level: str = "INFO"
    rpc_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Declare event queues as RabbitMQ quorum queues (a cluster); classic durable queues otherwise.
    quorum_queues: bool = False

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        """Accept a plain postgresql:// URL and use psycopg 3 for it."""
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith("postgresql+psycopg://"):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value


class ServiceSettings(CommonSettings):
    """A nameko service process."""

    max_workers: int = Field(default=10, ge=1, le=200)
    # Extra connections above max_workers, for timers and the outbox relay.
    db_pool_headroom: int = Field(default=4, ge=1, le=50)
    outbox_poll_seconds: float = Field(default=0.2, gt=0, le=30)
    outbox_batch_size: int = Field(default=200, ge=1, le=5000)
    # Back-off between attempts of a failing event handler, in seconds; then the dead-letter queue.
    event_retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0)
    # The most events a batch handler (`shared.messaging.batch_event_handler`) takes at a time.
    event_batch_size: int = Field(default=100, ge=1, le=1000)
    # Times the broker may refuse one event before it is parked (`shared.outbox.relay_batch`).
    outbox_max_publish_attempts: int = Field(default=5, ge=1, le=100)
    # How long published outbox rows and handled inbox rows are kept, and how often they are pruned.
    # The inbox must outlive any replay of a dead letter, or the replayed event is handled again.
    outbox_retention_hours: float = Field(default=168, gt=0, le=24 * 365)
    inbox_retention_days: float = Field(default=30, gt=0, le=3650)
    retention_sweep_seconds: float = Field(default=3600, gt=0, le=86_400)

    def nameko_config(self) -> dict[str, object]:
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.max_workers,
            "serializer": "json",
            "SETTINGS": self,
        }


class SealingServiceSettings(ServiceSettings):
    """A process that seals links (invitations) or opens them (notifications and its sender). No
    other process has the keys: a gateway, contacts or properties process that is broken into
    cannot open the links in events."""

    # The key that seals invitation and reset links for the notifications service (Fernet,
    # base64); it opens them too.
    link_sealing_key: str = DEV_LINK_SEALING_KEY
    # Earlier keys, comma-separated: they still open links sealed before a rotation, and seal
    # nothing. A key is retired by removing it from here (docs/decisions.md, "Sealing keys rotate").
    link_sealing_old_keys: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("link_sealing_old_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> SealingServiceSettings:
        if self.environment == "production" and self.link_sealing_key == DEV_LINK_SEALING_KEY:
            raise ValueError("LINK_SEALING_KEY must be set outside development")
        if self.environment == "production" and DEV_LINK_SEALING_KEY in self.link_sealing_old_keys:
            raise ValueError("LINK_SEALING_OLD_KEYS must not hold the development key outside development")
        return self

    @cached_property  # built once: every email sealed or opened uses it
    def link_sealer(self) -> LinkSealer:
        """Seals with LINK_SEALING_KEY; opens with it and with each of LINK_SEALING_OLD_KEYS."""
        return LinkSealer((self.link_sealing_key, *self.link_sealing_old_keys))
