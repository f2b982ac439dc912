"""Dead letters: see and replay the events a handler gave up on (`docs/reliability.md`).

An event whose handler keeps failing is retried with back-off and then parked in its
subscription's `<queue>.dead` queue, with why in its headers (`shared.messaging`). This is the ops
tool for those queues, over AMQP only (no management API needed), with the RabbitMQ connection
from the settings (`AMQP_URI`), so it works the same against a deploy as against `make up`:

    python -m shared.deadletters list [--queue NAME] [--limit N] [--json]
    python -m shared.deadletters replay QUEUE [--limit N]

`list` shows every dead-letter queue of the platform's subscriptions (`shared.topology`) with its
message count, and each parked message's event type, event id, attempts, error and failed-at
time. It only looks: the messages it reads go back to their queue, in order.

`replay` moves parked messages back to their subscription's main queue (straight to that queue,
not through the exchange, so no other subscriber gets them twice) with the attempt count reset,
so each gets the full series of retries again. A message is removed from the dead-letter queue
only after the broker confirmed the copy; a crash in between replays it twice, which the
consumer's inbox absorbs. Replay after fixing the cause: an event that still fails comes back.
Replay runs with the broker login of the service whose queue it is (in that service's pod, say):
the service trusts the publisher recorded on an event only when its own login sent it back, so an
event parked because a stranger published it is parked again, however it is replayed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.broker_access import login_name, login_of
from shared.topology import ATTEMPT_HEADER, SUBSCRIPTIONS

DEAD_SUFFIX = ".dead"
ERROR_HEADER = "x-portal-error"
FAILED_AT_HEADER = "x-portal-failed-at"
QUEUE_HEADER = "x-portal-queue"
REPLAYS_HEADER = "x-portal-replays"
REPLAYED_AT_HEADER = "x-portal-replayed-at"
CONNECT_TIMEOUT_SECONDS = 10
DEFAULT_LIST_LIMIT = 50
# Headers describing the last failure: a replayed message starts again without them.
_FAILURE_HEADERS = (ATTEMPT_HEADER, ERROR_HEADER, FAILED_AT_HEADER, QUEUE_HEADER)


@dataclass(frozen=True)
class DeadLetter:
    """One parked event, as its headers and properties describe it."""

    event_type: str | None
    event_id: str | None
    attempts: int | None
    error: str | None
    failed_at: str | None
    replays: int


@dataclass
class DeadQueue:
    name: str
    main_queue: str
    exists: bool
    message_count: int
    messages: list[DeadLetter] = field(default_factory=list)


@dataclass(frozen=True)
class ReplayResult:
    queue: str
    main_queue: str
    replayed: int
    left: int


class DeadLetterError(Exception):
    """The operation cannot be done; the message says why and what to do."""


def dead_queue_name(name: str) -> str:
    """The dead-letter queue of a subscription, given it or its main queue's name."""
    return name if name.endswith(DEAD_SUFFIX) else name + DEAD_SUFFIX


def main_queue_name(dead_queue: str) -> str:
    return dead_queue[: -len(DEAD_SUFFIX)] if dead_queue.endswith(DEAD_SUFFIX) else dead_queue


def known_dead_queues() -> list[str]:
    """Every subscription's dead-letter queue (they are declared up front, with the topology)."""
    return [sub.dead_letter_queue for sub in SUBSCRIPTIONS]


@contextmanager
def _connection(amqp_uri: str) -> Iterator[Any]:
    from kombu import Connection

    # confirm_publish: every publish waits for the broker's confirm (a replay acks only after it).
    with Connection(
        amqp_uri, connect_timeout=CONNECT_TIMEOUT_SECONDS, transport_options={"confirm_publish": True}
    ) as conn:
        conn.connect()
        yield conn


def _message_count(conn: Any, queue: str) -> int | None:
    """The queue's ready messages, or None if it does not exist (checked on a channel of its own:
    a failed passive declare closes the channel)."""
    from amqp.exceptions import NotFound

    channel = conn.channel()
    try:
        _, count, _ = channel.queue_declare(queue=queue, passive=True)
        return int(count)
    except NotFound:
        return None
    finally:
        with contextlib.suppress(Exception):  # already closed by the broker after NotFound
            channel.close()


def _headers(message: Any) -> dict[str, Any]:
    return dict(message.properties.get("application_headers") or {})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def describe(message: Any) -> DeadLetter:
    headers = _headers(message)
    props = message.properties
    event_id = _text(props.get("message_id"))
    event_type = _text(props.get("type"))
    if event_id is None:
        try:
            body = json.loads(message.body)
        except (ValueError, TypeError):
            body = {}
        if isinstance(body, dict):
            event_id = _text(body.get("event_id"))
    next_attempt = headers.get(ATTEMPT_HEADER)
    return DeadLetter(
        event_type=event_type,
        event_id=event_id,
        # The header holds the number the next attempt would have had.
        attempts=int(next_attempt) - 1 if next_attempt is not None else None,
        error=_text(headers.get(ERROR_HEADER)),
        failed_at=_text(headers.get(FAILED_AT_HEADER)),
        replays=int(headers.get(REPLAYS_HEADER, 0)),
    )


def list_dead_letters(
    amqp_uri: str, queues: Iterable[str] | None = None, limit: int = DEFAULT_LIST_LIMIT
) -> list[DeadQueue]:
    """Each dead-letter queue with its count and its first `limit` messages, which stay there."""
    names = [dead_queue_name(q) for q in queues] if queues is not None else known_dead_queues()
    found: list[DeadQueue] = []
    with _connection(amqp_uri) as conn:
        for name in names:
            count = _message_count(conn, name)
            queue = DeadQueue(name, main_queue_name(name), count is not None, count or 0)
            if count:
                queue.messages = _peek(conn, name, min(count, limit))
            found.append(queue)
    return found


def _peek(conn: Any, queue: str, limit: int) -> list[DeadLetter]:
    """Read up to `limit` messages without taking them: they are never acked, and closing the
    channel puts them back where they were."""
    channel = conn.channel()
    seen: list[DeadLetter] = []
    try:
        while len(seen) < limit:
            message = channel.basic_get(queue=queue, no_ack=False)
            if message is None:
                break
            seen.append(describe(message))
    finally:
        channel.close()
    return seen


def replay(amqp_uri: str, queue: str, limit: int | None = None) -> ReplayResult:
    """Move up to `limit` messages (at most as many as were there when it began, so a message that
    fails again at once is not replayed twice in one run) back to the main queue."""
    from amqp import Message

    dead = dead_queue_name(queue)
    main = main_queue_name(dead)
    # The consumer takes a replayed event only from its own login, which vouches for the publisher
    # it recorded when it parked the event (shared.broker_access); from any other, it parks it again.
    service = main.rpartition("--")[2].partition(".")[0]
    if login_of(amqp_uri) != login_name(service):
        raise DeadLetterError(
            f"replay {main!r} with the broker login of the {service} service ({login_name(service)}), "
            f"not {login_of(amqp_uri)!r}"
        )
    with _connection(amqp_uri) as conn:
        count = _message_count(conn, dead)
        if count is None:
            raise DeadLetterError(f"there is no queue {dead!r}")
        if _message_count(conn, main) is None:
            raise DeadLetterError(
                f"the main queue {main!r} does not exist: declare the topology first "
                "(python -m shared.topology) or start its service"
            )
        budget = count if limit is None else min(count, limit)
        channel = conn.channel()
        replayed = 0
        try:
            while replayed < budget:
                message = channel.basic_get(queue=dead, no_ack=False)
                if message is None:
                    break
                props = dict(message.properties)
                headers = {k: v for k, v in _headers(message).items() if k not in _FAILURE_HEADERS}
                headers[REPLAYS_HEADER] = int(headers.get(REPLAYS_HEADER, 0)) + 1
                headers[REPLAYED_AT_HEADER] = datetime.now(UTC).isoformat()
                props["application_headers"] = headers
                props["delivery_mode"] = 2
                props["user_id"] = login_of(amqp_uri)
                # Straight to the main queue through the default exchange, confirmed before the ack.
                channel.basic_publish(Message(message.body, **props), exchange="", routing_key=main)
                channel.basic_ack(message.delivery_tag)
                replayed += 1
        finally:
            channel.close()
        left = _message_count(conn, dead) or 0
    return ReplayResult(dead, main, replayed, left)


# --- the command ------------------------------------------------------------------------------


def _print_queues(queues: list[DeadQueue]) -> None:
    for queue in queues:
        if not queue.exists:
            print(f"{queue.name}: does not exist")
            continue
        print(f"{queue.name}: {queue.message_count} message(s)")
        for n, letter in enumerate(queue.messages, 1):
            # The first line says what failed; the rest (SQL, parameters) is in --json.
            error = (letter.error or "-").splitlines()[0]
            if len(error) > 300:
                error = error[:297] + "..."
            replays = f", replayed {letter.replays}x" if letter.replays else ""
            print(
                f"  {n}. {letter.event_type or '?'} event {letter.event_id or '?'}: "
                f"{letter.attempts if letter.attempts is not None else '?'} attempt(s){replays}, "
                f"failed at {letter.failed_at or '?'}\n     error: {error}"
            )
        if len(queue.messages) < queue.message_count:
            print(f"  ... and {queue.message_count - len(queue.messages)} more")


def main(argv: list[str] | None = None) -> int:
    from amqp.exceptions import AMQPError
    from kombu.exceptions import KombuError

    from shared.settings import CommonSettings

    parser = argparse.ArgumentParser(
        prog="python -m shared.deadletters",
        description="List and replay the events parked in dead-letter queues (RabbitMQ from AMQP_URI).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every dead-letter queue, its count and its messages")
    listing.add_argument("--queue", action="append", help="only this queue (repeatable; .dead optional)")
    listing.add_argument("--limit", type=int, default=DEFAULT_LIST_LIMIT, help="messages shown per queue")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    replaying = commands.add_parser("replay", help="move messages back to their main queue")
    replaying.add_argument("queue", help="the dead-letter queue (or its main queue)")
    replaying.add_argument("--limit", type=int, default=None, help="at most this many (default: all)")
    args = parser.parse_args(argv)

    amqp_uri = CommonSettings().amqp_uri
    try:
        if args.command == "list":
            queues = list_dead_letters(amqp_uri, args.queue, max(0, args.limit))
            if args.json:
                print(json.dumps([asdict(q) for q in queues], indent=2, default=str))
            else:
                _print_queues(queues)
        else:
            result = replay(amqp_uri, args.queue, args.limit)
            print(
                f"replayed {result.replayed} message(s) from {result.queue} to {result.main_queue}; "
                f"{result.left} left"
            )
    except DeadLetterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, AMQPError, KombuError) as exc:
        print(f"error: RabbitMQ refused or cannot be reached ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
