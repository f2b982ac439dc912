"""What one sink keeps: the accepted emails, the counters, the fault rules."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from devtools.smtp_sink.faults import FaultRules
from devtools.smtp_sink.messages import StoredMessage

DEFAULT_MAX_MESSAGES = 10_000


class MessageStore:
    """The last `max_messages` emails by id; the oldest is dropped when a new one would not fit.

    Locked, so a test may read it from its own thread while the sink's loop writes it.
    """

    def __init__(self, max_messages: int) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.max_messages = max_messages
        self._lock = threading.Lock()
        self._messages: OrderedDict[int, StoredMessage] = OrderedDict()
        self._next_id = 1
        self.evicted = 0

    def add(self, build: Callable[[int], StoredMessage]) -> StoredMessage:
        with self._lock:
            message = build(self._next_id)
            self._next_id += 1
            self._messages[message.id] = message
            while len(self._messages) > self.max_messages:
                self._messages.popitem(last=False)
                self.evicted += 1
            return message

    def find(self, to: str | None = None) -> list[StoredMessage]:
        with self._lock:
            messages = list(self._messages.values())
        if to is None:
            return messages
        wanted = to.strip().lower()
        return [m for m in messages if any(r.lower() == wanted for r in m.rcpt_tos)]

    def get(self, message_id: int) -> StoredMessage | None:
        with self._lock:
            return self._messages.get(message_id)

    def clear(self) -> int:
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)


@dataclass
class Stats:
    accepted: int = 0  # messages stored after a 250 reply to DATA
    rejected: int = 0  # recipients refused by a `reply` fault
    dropped: int = 0  # connections closed by a `drop_connection` fault


@dataclass
class SinkState:
    store: MessageStore
    faults: FaultRules = field(default_factory=FaultRules)
    stats: Stats = field(default_factory=Stats)

    def stats_json(self) -> dict[str, int]:
        return {
            "accepted": self.stats.accepted,
            "rejected": self.stats.rejected,
            "dropped": self.stats.dropped,
            "evicted": self.store.evicted,
        }
