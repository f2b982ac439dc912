"""The credential throttle: every attempt at a password, a reset or an invitation form is counted
per client address, and every password attempt also per (typed email, client address), in
PostgreSQL, and an attempt over a bound is refused with the seconds to wait.

Why these keys (docs/decisions.md, "Credential throttling"): a stranger who knows someone's email
and tries passwords from their own client fills the bucket of (that email, their client) and the
bucket of their client, never the one of the owner's client, so the owner still signs in with
the right password from their own. The email is the typed one, not an account row, so an unknown
email is counted exactly like a known one and the answers cannot tell them apart.

Each key is a leaky bucket stored as one time, `empty_at`: when the bucket will have drained (the
generic cell rate algorithm). An attempt adds `refill` to it (from now, if it had drained), in one
INSERT ... ON CONFLICT DO UPDATE ... RETURNING that counts and decides at once, so parallel
attempts are counted one after another on the row's lock and none can slip past the bound. An
attempt is let through while the bucket holds at most `burst` of them; refused attempts count
too (up to `max_wait`), so hammering keeps a client waiting and waiting is what lets it in again.
Decay needs no job: a bucket drains with time, and a row whose `empty_at` has passed says nothing
more and is deleted by `prune`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.contracts.common import normalize_email
from shared.contracts.errors import RateLimited
from shared.settings import ServiceSettings
from shared.tokens import digest

Kind = Literal["account", "client"]
# What a request without a client address is counted as (a caller other than the gateway).
NO_CLIENT = "unknown"


class ThrottleSettings(ServiceSettings):
    """The bounds of a service that checks credentials (contacts for staff, invitations for
    portal accounts)."""

    # Password attempts at one email from one client let through at once, then one per refill.
    throttle_account_burst: int = Field(default=5, ge=1, le=1_000)
    throttle_account_refill_seconds: float = Field(default=180, gt=0, le=86_400)
    # Failed credential attempts and forgot-password requests of one client, whatever the email.
    throttle_client_burst: int = Field(default=30, ge=1, le=100_000)
    throttle_client_refill_seconds: float = Field(default=20, gt=0, le=86_400)
    # The longest a client waits after its last attempt, however many it made.
    throttle_max_wait_seconds: float = Field(default=900, gt=0, le=7 * 86_400)
    # How often drained throttle rows (and, in invitations, old forgot-password requests) go.
    throttle_prune_seconds: float = Field(default=300, gt=0, le=86_400)


@dataclass(frozen=True)
class Bucket:
    """`burst` attempts at once, then one more each `refill`; never more than `max_wait` to wait
    after the last attempt."""

    burst: int
    refill: timedelta
    max_wait: timedelta

    @property
    def ceiling(self) -> timedelta:
        """How far ahead of now `empty_at` may go: the attempts of a burst and the longest wait."""
        return (self.burst - 1) * self.refill + self.max_wait

    def wait(self, empty_at: datetime, now: datetime) -> int | None:
        """Seconds until the next attempt is let through, or None when this one was."""
        if empty_at - now <= self.burst * self.refill:
            return None
        return max(1, math.ceil((empty_at - now - (self.burst - 1) * self.refill).total_seconds()))


@dataclass(frozen=True)
class Key:
    kind: Kind
    digest: str
    bucket: Bucket


def throttle_table(metadata: MetaData, name: str = "credential_throttle") -> Table:
    return Table(
        name,
        metadata,
        # SHA-256 of the key's parts: neither an email nor an address is stored.
        Column("key", String(64), primary_key=True),
        # When the bucket will have drained; a row whose time has passed is as good as none.
        Column("empty_at", DateTime(timezone=True), nullable=False),
        Index(f"ix_{name}_empty_at", "empty_at"),
    )


class CredentialThrottle:
    """The keys of one service's credential routes (`scope`: "staff", "portal") and what an
    attempt does to them."""

    def __init__(self, table: Table, scope: str, settings: ThrottleSettings) -> None:
        self.table = table
        self.scope = scope
        self.account_bucket = Bucket(
            settings.throttle_account_burst,
            timedelta(seconds=settings.throttle_account_refill_seconds),
            timedelta(seconds=settings.throttle_max_wait_seconds),
        )
        self.client_bucket = Bucket(
            settings.throttle_client_burst,
            timedelta(seconds=settings.throttle_client_refill_seconds),
            timedelta(seconds=settings.throttle_max_wait_seconds),
        )

    def by_client(self, client: str | None) -> Key:
        return Key("client", self._digest("client", client or NO_CLIENT), self.client_bucket)

    def by_account(self, email: str, client: str | None) -> Key:
        """The typed email (normalized, known or not) from this client."""
        email_key = self._digest("account", normalize_email(email), client or NO_CLIENT)
        return Key("account", email_key, self.account_bucket)

    def _digest(self, *parts: str) -> str:
        return digest(json.dumps([self.scope, *parts]))

    def count(self, session: Any, now: datetime, *keys: Key) -> None:
        """Count one attempt on every key and commit it; RateLimited, with the longest wait, when
        any key is over its bound. Nothing is held afterwards, so no lock waits on a hash."""
        waits = [self._take(session, key, now) for key in sorted(keys, key=lambda k: k.digest)]
        session.commit()
        refused = [wait for wait in waits if wait is not None]
        if refused:
            wait = max(refused)
            raise RateLimited(
                f"Too many attempts. Try again in {math.ceil(wait / 60)} minute(s).", {"retry_after": wait}
            )

    def _take(self, session: Any, key: Key, now: datetime) -> int | None:
        table, bucket = self.table, key.bucket
        empty_at = session.execute(
            pg_insert(table)
            .values(key=key.digest, empty_at=now + bucket.refill)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "empty_at": func.least(
                        func.greatest(table.c.empty_at, now) + bucket.refill, now + bucket.ceiling
                    )
                },
            )
            .returning(table.c.empty_at)
        ).scalar_one()
        return bucket.wait(empty_at, now)

    def succeeded(self, session: Any, *keys: Key) -> None:
        """The attempt counted on `keys` was right (in the caller's transaction): its email from
        that client starts afresh; its client gets back only this attempt, so signing in to an
        account of one's own does not wipe a client's failures at other emails."""
        for key in keys:
            if key.kind == "account":
                session.execute(delete(self.table).where(self.table.c.key == key.digest))
            else:
                session.execute(
                    update(self.table)
                    .where(self.table.c.key == key.digest)
                    .values(empty_at=self.table.c.empty_at - key.bucket.refill)
                )

    def level(self, session: Any, key: Key, now: datetime) -> float:
        """How many attempts `key`'s bucket holds at `now` (what tests and operators look at)."""
        empty_at = session.execute(
            select(self.table.c.empty_at).where(self.table.c.key == key.digest)
        ).scalar()
        if empty_at is None or empty_at <= now:
            return 0.0
        return (empty_at - now) / key.bucket.refill


def prune(session: Any, table: Table, now: datetime) -> int:
    """Delete the rows whose buckets have drained (in the caller's transaction); how many went."""
    return session.execute(delete(table).where(table.c.empty_at <= now)).rowcount or 0
