"""How long the sender may still work on a delivery it claimed, and the renewal that keeps its
claims while it works on them.

A claim lasts `claim_lease_seconds` in the database (`deliveries.lease_until`); once that has
passed, any sender may claim the row again. The sender keeps a deadline of its own for each claim,
never later than the database's: the moment before the claim (or the renewal) statement was sent,
plus the lease, less a twentieth of the lease for timers and clocks.

While an email is being sent, and until its result is saved, its claim is held (`Leases.hold`).
Every third of a lease one UPDATE pushes the lease of every held claim forward, only where the
claim is still this sender's (`store.renew`): one statement per third of a lease, whatever the
number of emails. Claims that wait in the queue are not renewed: one that waits too long is given
back (`domain.claim_is_fresh`), so another sender may take it.

The SMTP work before the end of an email's data runs within `Lease.bound()`, an asyncio timeout at
the deadline that every renewal moves: a send whose lease could not be extended stops there and
closes its connection, before any other sender may claim the row. Nothing is delivered before the
server has the end of the data, so that stop is safe. The end is sent only when
`Lease.reserve(smtp_timeout_seconds)` finds a whole SMTP timeout left (renewing first if it is
not), so the server's answer, or the timeout, comes while the claim is still this sender's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from notifications.sender.relay import wait_any

log = logging.getLogger(__name__)

RENEWALS_PER_LEASE = 3
MARGIN_FRACTION = 0.05


class Lease:
    """One claim's lease, as this sender may count on it."""

    def __init__(self, delivery_id: uuid.UUID, attempts: int, started: float, seconds: float) -> None:
        self.delivery_id = delivery_id
        self.attempts = attempts  # the claim's token (store._still_ours)
        self.seconds = seconds
        self.margin = seconds * MARGIN_FRACTION
        # time.monotonic() by which all work on the claim must have stopped.
        self.ends = started + seconds - self.margin
        self._stopped = False
        self._bounds: set[asyncio.Timeout] = set()
        self._renew_now: Callable[[], Awaitable[None]] | None = None  # while held

    def remaining(self) -> float:
        """Seconds left for work that may still be abandoned: 0 once stopped."""
        return 0.0 if self._stopped else max(0.0, self.ends - time.monotonic())

    def extend(self, started: float) -> None:
        """A renewal sent at `started` (time.monotonic()) found the claim still this sender's."""
        self.ends = max(self.ends, started + self.seconds - self.margin)
        self._move_bounds()

    def stop(self) -> None:
        """End the work before the end of the data now (the sender is stopping)."""
        self._stopped = True
        self._move_bounds()

    def _move_bounds(self) -> None:
        if not self._bounds:
            return
        when = asyncio.get_running_loop().time() + self.remaining()
        for bound in self._bounds:
            if not bound.expired():
                bound.reschedule(when)

    @contextlib.asynccontextmanager
    async def bound(self) -> AsyncIterator[None]:
        """Work that must stop when the lease ends (each renewal moves the end): TimeoutError
        then, or at once after `stop()`."""
        bound = asyncio.timeout_at(asyncio.get_running_loop().time() + self.remaining())
        self._bounds.add(bound)
        try:
            async with bound:
                yield
        finally:
            self._bounds.discard(bound)

    async def reserve(self, seconds: float) -> bool:
        """Whether `seconds` of the lease are left, renewing it first if they are not."""
        if self.remaining() >= seconds:
            return True
        if self._stopped or self._renew_now is None:
            return False
        await self._renew_now()
        return self.remaining() >= seconds


class Leases:
    """The claims held while their emails are sent and their results saved, renewed together.

    `renew(leases)` extends in the database the claims still this sender's and returns their ids.
    """

    def __init__(self, seconds: float, renew: Callable[[list[Lease]], Awaitable[set[uuid.UUID]]]) -> None:
        self.seconds = seconds
        self._renew = renew
        self._held: set[Lease] = set()
        self._renewing: asyncio.Future[None] | None = None
        self._failures = 0

    def hold(self, lease: Lease) -> None:
        lease._renew_now = self.renew_now
        self._held.add(lease)

    def release(self, lease: Lease) -> None:
        self._held.discard(lease)
        lease._renew_now = None

    def stop_all(self) -> None:
        """The sender is stopping: every email not yet at the end of its data stops now."""
        for lease in self._held:
            lease.stop()

    async def renew_now(self) -> None:
        """Renew every held claim (joining a renewal already under way)."""
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.ensure_future(self._renew_held())
        # Shielded: a send that stops waiting (its bound) must not cancel the others' renewal.
        await asyncio.shield(self._renewing)

    async def _renew_held(self) -> None:
        leases = list(self._held)
        if not leases:
            return
        started = time.monotonic()
        try:
            kept = await self._renew(leases)
        except Exception as exc:
            self._failures += 1
            log.warning(
                "renewing %d claim(s) failed (%s); their leases run on", len(leases), type(exc).__name__
            )
            return
        self._failures = 0
        for lease in leases:
            if lease.delivery_id in kept:
                lease.extend(started)

    async def run(self, stop: asyncio.Event) -> None:
        """Renew the held claims every third of a lease (sooner after a failure) until `stop`."""
        interval = self.seconds / RENEWALS_PER_LEASE
        while not stop.is_set():
            pause = interval if not self._failures else min(interval, 0.25 * 2**self._failures)
            await wait_any([stop], pause)
            if not stop.is_set():
                await self.renew_now()
