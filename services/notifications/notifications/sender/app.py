"""The SMTP sender: a plain asyncio process (aiosmtplib cannot run inside eventlet workers).

One claimer takes due deliveries from the database into a bounded queue, in chunks of at least
half `sender_batch_size` (`domain.claim_size`); `sender_concurrency`
workers each hold one SMTP connection and send what they take from the queue, rendering each email
just before it is sent (the link is unsealed only then, in memory, and only if its seal names that
delivery's recipient, purpose and subject and has not expired). Every result is written with
its outbox event in one transaction: a writer saves the sent emails of 150 ms together, a retry or
a failure is saved at once. An event relay publishes them.

While an email is sent and until its result is saved, its claim's lease is renewed, and the
sending stops before the end of the email if the lease cannot be (`sender/lease.py`): no other
sender takes a delivery this one may still send. An email goes out twice only when the sender
dies (or the database is out for most of a lease) between the server's 250 and its record.

On SIGTERM or SIGINT it stops claiming, gives back what it claimed but had not started, stops the
emails whose end the server does not have yet (given back too), lets those it has be answered
(within `smtp_timeout_seconds`) and saved, publishes the last events, and closes its connections.
A delivery cut off even so stays `sending` until its lease ends, then any sender takes it again:
at least once, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from notifications import domain
from notifications.rendering import Templates, build_message, maintenance_values, template_values
from notifications.sender import store
from notifications.sender.lease import Leases
from notifications.sender.relay import EventRelay, wait_any
from notifications.sender.smtp import Outcome, SmtpConnection
from notifications.settings import NotificationsSettings
from shared import faults
from shared.contracts.common import utc_now
from shared.contracts.notifications import DeliveryPurpose, DeliveryStatus
from shared.logs import configure_logging

log = logging.getLogger("notifications.sender")

# Writing a result is retried this often (DB restarting, pool busy) before the row is left to
# its lease; the email was sent or not either way, and a lost result means at worst a duplicate.
RESULT_WRITE_ATTEMPTS = 4
MAX_CLAIM_BACKOFF_SECONDS = 10.0
RESULT_WRITE_LINGER_SECONDS = 0.15
# At shutdown, beyond the SMTP timeout: for the last answers to be saved.
SHUTDOWN_SAVE_SECONDS = 5.0


class Sender:
    def __init__(
        self,
        settings: NotificationsSettings,
        *,
        templates: Templates | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.templates = templates or Templates()
        self.jitter = jitter
        self._stopping = asyncio.Event()
        self._room = asyncio.Event()
        self._leases: Leases | None = None

    def stop(self) -> None:
        """Begin a clean shutdown (safe to call more than once, e.g. from a signal handler)."""
        if not self._stopping.is_set():
            log.info("stopping: no new claims; finishing the emails the server is answering")
        self._stopping.set()
        if self._leases is not None:
            self._leases.stop_all()

    async def run(self) -> None:
        s = self.settings
        engine = store.make_async_engine(s)
        relay = EventRelay(engine, s.amqp_uri, s.outbox_batch_size, s.outbox_poll_seconds)
        relay_stop = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(relay_stop), name="event-relay")
        self._leases = leases = Leases(
            s.claim_lease_seconds, lambda held: store.renew(engine, held, s.claim_lease_seconds)
        )
        if self._stopping.is_set():
            leases.stop_all()
        renewal_stop = asyncio.Event()
        renewal = asyncio.create_task(leases.run(renewal_stop), name="lease-renewal")
        # Unbounded, so the shutdown's "finish" markers never wait; the claimer keeps it within
        # sender_batch_size itself.
        queue: asyncio.Queue[store.Job | None] = asyncio.Queue()
        self._sent: asyncio.Queue[tuple[store.Job, str] | None] = asyncio.Queue()
        # Emails being sent or sent and not yet recorded: what a crash can make go out twice.
        self._unsaved = asyncio.Semaphore(s.sender_batch_size)
        writer = asyncio.create_task(self._write_sent(engine, relay), name="result-writer")
        workers = [
            asyncio.create_task(self._work(engine, relay, queue), name=f"smtp-worker-{n}")
            for n in range(s.sender_concurrency)
        ]
        log.info("sending through %s:%d with %d connections", s.smtp_host, s.smtp_port, s.sender_concurrency)
        try:
            await self._claim_until_stopped(engine, queue)
        finally:
            await self._give_back_unstarted(engine, queue)
            for _ in workers:
                queue.put_nowait(None)  # one "finish" for each worker, after the job it has
            # The emails not yet at their end stop at once; the others get their answer.
            _, late = await asyncio.wait(workers, timeout=s.smtp_timeout_seconds + SHUTDOWN_SAVE_SECONDS)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d email(s) still in flight at shutdown; their leases will expire", len(late))
                await asyncio.wait(late)
            self._sent.put_nowait(None)  # the writer saves what the workers left it, then ends
            await writer
            renewal_stop.set()  # every claim is saved or given up: nothing is held any more
            await renewal
            relay_stop.set()
            relay.wake()
            await relay_task
            await engine.dispose()
            log.info("stopped")

    # --- claiming ---------------------------------------------------------------------------------

    async def _claim_until_stopped(self, engine: AsyncEngine, queue: asyncio.Queue[store.Job | None]) -> None:
        s = self.settings
        failures = 0
        while not self._stopping.is_set():
            room = domain.claim_size(queue.qsize(), s.sender_batch_size)
            if room <= 0:
                self._room.clear()
                await wait_any([self._room, self._stopping], s.sender_poll_seconds)
                continue
            try:
                jobs = await store.claim(engine, room, s.claim_lease_seconds)
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("claiming deliveries failed (%s); retrying", type(exc).__name__)
                await wait_any([self._stopping], min(0.5 * 2**failures, MAX_CLAIM_BACKOFF_SECONDS))
                continue
            for job in jobs:
                queue.put_nowait(job)
            if len(jobs) < room:  # nothing more is due: look again after a pause
                await wait_any([self._stopping], s.sender_poll_seconds)

    async def _give_back_unstarted(self, engine: AsyncEngine, queue: asyncio.Queue[store.Job | None]) -> None:
        while not queue.empty():
            job = queue.get_nowait()
            if job is not None:
                await self._give_back(engine, job)

    # --- sending ----------------------------------------------------------------------------------

    async def _work(
        self, engine: AsyncEngine, relay: EventRelay, queue: asyncio.Queue[store.Job | None]
    ) -> None:
        smtp = SmtpConnection(self.settings)
        try:
            while True:
                job = await queue.get()
                self._room.set()
                if job is None:
                    break
                try:
                    await self._deliver(engine, relay, smtp, job)
                except Exception:
                    # A bug, not an SMTP outcome: the row stays claimed until its lease ends.
                    log.exception("delivery %s: unexpected error", job.id)
            await smtp.quit()
        finally:
            smtp.close()  # also when cancelled at the end of the shutdown's wait

    async def _deliver(
        self, engine: AsyncEngine, relay: EventRelay, smtp: SmtpConnection, job: store.Job
    ) -> None:
        s = self.settings
        leases = self._leases
        assert leases is not None
        if self._stopping.is_set() or not domain.claim_is_fresh(
            time.monotonic() - job.claimed_at, s.claim_lease_seconds
        ):
            await self._give_back(engine, job)
            return
        leases.hold(job.lease)  # renewed from now until its result is saved or given up
        handed_over = False
        try:
            handed_over = await self._attempt(engine, relay, smtp, job)
        finally:
            if not handed_over:
                leases.release(job.lease)

    async def _attempt(
        self, engine: AsyncEngine, relay: EventRelay, smtp: SmtpConnection, job: store.Job
    ) -> bool:
        """Send a fresh claim and record what became of it; True when a sent email is handed to
        the result writer (which then owns its claim)."""
        if job.suppressed:
            log.info("delivery %s to %s: suppressed, not sent", job.id, job.recipient)
            await self._record(
                relay,
                job,
                lambda: store.record_failed(
                    engine, job, None, domain.SUPPRESSED_REASON, status=DeliveryStatus.SUPPRESSED
                ),
            )
            return False
        try:
            message = self._compose(job)
        except domain.LinkRefused as refused:
            # Not sent, and never will be: the reason is a fixed sentence, no link, no address.
            reason = str(refused)
            log.warning("delivery %s: not sent, %s", job.id, reason)
            await self._record(
                relay, job, lambda: store.record_failed(engine, job, None, reason, link_refused=True)
            )
            return False
        except Exception as exc:
            # Only the exception's type: its text could quote the context.
            log.error("delivery %s: the email could not be rendered (%s)", job.id, type(exc).__name__)
            await self._settle(
                engine, relay, job, Outcome(None, f"the email could not be rendered ({type(exc).__name__})")
            )
            return False
        await self._unsaved.acquire()  # released once the result is saved (or given up)
        sent = False
        try:
            outcome = await smtp.send(message, job.recipient, job.lease)
            if outcome.abandoned and self._stopping.is_set():
                log.info("delivery %s: stopped before the end of the email; given back", job.id)
                await self._give_back(engine, job)
            else:
                if outcome.abandoned:
                    log.warning("delivery %s: its claim could not be renewed in time; not sent", job.id)
                sent = await self._settle(engine, relay, job, outcome)
        finally:
            if not sent:
                self._unsaved.release()
        return sent

    async def _give_back(self, engine: AsyncEngine, job: store.Job) -> None:
        try:
            await store.give_back(engine, job)
        except Exception as exc:  # the lease ends on its own: any sender takes it then
            log.warning("delivery %s: could not give it back (%s)", job.id, type(exc).__name__)

    def _compose(self, job: store.Job) -> bytes:
        s = self.settings
        if job.purpose in domain.SEALED_LINK_PURPOSES:
            link = domain.open_link(
                s.link_sealer,
                job.context.get("sealed_link"),
                purpose=job.purpose,
                subject_id=job.subject_id,
                recipient=job.recipient,
                now=utc_now(),
            )
            values = template_values(job.context, link)
        elif job.purpose == DeliveryPurpose.MAINTENANCE_UPDATE:  # an ordinary portal page: nothing to open
            values = maintenance_values(job.context)
        else:
            raise ValueError(f"no templates for purpose {job.purpose!r}")
        return build_message(
            delivery_id=job.id,
            recipient=job.recipient,
            recipient_name=values["recipient_name"],
            email=self.templates.render(job.purpose, job.locale, values),
            mail_from=s.mail_from,
            mail_domain=s.mail_domain,
            now=utc_now(),
        )

    async def _settle(self, engine: AsyncEngine, relay: EventRelay, job: store.Job, outcome: Outcome) -> bool:
        """Record the outcome; True when it is a sent email handed to the result writer."""
        s = self.settings
        decision = domain.decide(
            outcome.code, job.attempts, s.max_attempts, recipient_refused=outcome.recipient_refused
        )
        code = outcome.code if outcome.code is not None else "-"
        if decision.action == domain.Action.SENT:
            log.info("delivery %s to %s: sent (%s)", job.id, job.recipient, code)
            faults.crash_point(faults.SENDER_SMTP_ACCEPTED)
            self._sent.put_nowait((job, outcome.reply))
            return True
        elif decision.action == domain.Action.RETRY:
            delay = domain.retry_delay(job.attempts, s.retry_base_seconds, s.retry_cap_seconds, self.jitter())
            log.warning(
                "delivery %s to %s: attempt %d failed (%s %s); retrying in %.1f s",
                job.id,
                job.recipient,
                job.attempts,
                code,
                outcome.reply,
                delay,
            )
            await self._record(
                relay,
                job,
                lambda: store.record_retry(engine, job, outcome.code, outcome.reply, delay),
                event=False,
            )
        else:
            log.warning(
                "delivery %s to %s: failed after %d attempt(s) (%s %s)%s",
                job.id,
                job.recipient,
                job.attempts,
                code,
                outcome.reply,
                "; address suppressed" if decision.suppress else "",
            )
            await self._record(
                relay,
                job,
                lambda: store.record_failed(
                    engine, job, outcome.code, outcome.reply, suppress=decision.suppress
                ),
            )
        return False

    async def _write_sent(self, engine: AsyncEngine, relay: EventRelay) -> None:
        """Save the sent emails' results: those that finish within 150 ms of the first, or until
        `sender_batch_size` wait, go in one transaction. A worker does not wait for its result,
        but sends no more once `sender_batch_size` emails are sent or sending and unsaved, so a
        crash can make at most that many go out twice (window d of docs/reliability.md)."""
        loop = asyncio.get_running_loop()
        finished = False
        while not finished:
            item = await self._sent.get()
            if item is None:
                break
            batch = [item]
            deadline = loop.time() + RESULT_WRITE_LINGER_SECONDS
            while len(batch) < self.settings.sender_batch_size:
                try:
                    item = await asyncio.wait_for(self._sent.get(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    break
                if item is None:
                    finished = True
                    break
                batch.append(item)
            try:
                await self._save_sent(engine, relay, batch)
            finally:
                for job, _ in batch:
                    if self._leases is not None:
                        self._leases.release(job.lease)
                    self._unsaved.release()

    async def _save_sent(
        self, engine: AsyncEngine, relay: EventRelay, batch: list[tuple[store.Job, str]]
    ) -> None:
        """Retried until saved while the claims last (renewed meanwhile: a database restart costs
        no duplicate), or a few times once the sender is stopping; then the rows wait for their
        leases to end and the emails go out again."""
        attempt = 0
        while True:
            attempt += 1
            try:
                written = await store.record_sent(engine, batch)
            except Exception as exc:
                lease_ends = min(job.lease.ends for job, _ in batch)
                give_up = time.monotonic() >= lease_ends or (
                    self._stopping.is_set() and attempt >= RESULT_WRITE_ATTEMPTS
                )
                if give_up:
                    log.error(
                        "%d sent email(s): the results could not be saved (%s)",
                        len(batch),
                        type(exc).__name__,
                    )
                    return
                await asyncio.sleep(min(0.5 * 2 ** (attempt - 1), MAX_CLAIM_BACKOFF_SECONDS))
                continue
            for job, _ in batch:
                if job.id not in written:
                    log.warning("delivery %s: another sender took it over; this result is dropped", job.id)
            if written:
                relay.wake()
            return

    async def _record(
        self, relay: EventRelay, job: store.Job, write: Callable[[], Awaitable[bool]], *, event: bool = True
    ) -> None:
        """Save a result, retrying briefly if the database is unavailable."""
        for attempt in range(1, RESULT_WRITE_ATTEMPTS + 1):
            try:
                written = await write()
            except Exception as exc:
                if attempt == RESULT_WRITE_ATTEMPTS:
                    log.error("delivery %s: the result could not be saved (%s)", job.id, type(exc).__name__)
                    return
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
                continue
            if not written:
                log.warning("delivery %s: another sender took it over; this result is dropped", job.id)
            elif event:
                relay.wake()
            return


async def serve(settings: NotificationsSettings) -> None:
    sender = Sender(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, sender.stop)
    await sender.run()


def main() -> None:
    settings = NotificationsSettings()
    configure_logging("notifications-sender", settings.log_level)
    asyncio.run(serve(settings))
