"""Fault rules: what the SMTP side answers instead of accepting, for testing a sender's handling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_REPLY = re.compile(r"^[45][0-9][0-9]([ -][^\r\n]*)?$")
_RULE_KEYS = {"reply", "count", "match", "delay_ms", "command_delay_ms", "drop_connection"}
MAX_DELAY_MS = 600_000


@dataclass
class FaultRule:
    """One fault, consumed once per message it applies to until its count reaches 0.

    Exactly one action:
    - `reply`: a 4xx or 5xx line sent instead of 250 at the RCPT stage, per recipient (the
      platform sends one recipient per email, so per message): a refused recipient is never stored.
    - `delay_ms`: wait that long at the DATA stage before the 250 reply (a real relay's pace).
    - `command_delay_ms`: wait that long before every reply of every connection (the greeting,
      and the answer to each command: EHLO, MAIL, RCPT, DATA's 354, the 250 after the data,
      NOOP, RSET, QUIT), a slow server. The email is stored before its 250 is delayed, as a
      server that has taken it and is slow to say so. `count` counts replies; no `match`
      (the greeting and EHLO come before any recipient).
    - `drop_connection`: close the connection abruptly at the DATA stage, after the content
      arrived and before any reply, the worst case for a sender: nothing is stored.
    `match`: only recipients containing this text (case-insensitive); at the DATA stage, a
    message matches when one of its recipients does. `count`: how many times; omitted = forever.
    Several rules may be active: all matching delays add up (each kind at its own stage); for
    `reply` and `drop_connection` the oldest matching rule wins.
    """

    id: int
    reply: str | None = None
    delay_ms: int | None = None
    command_delay_ms: int | None = None
    drop_connection: bool = False
    match: str | None = None
    count: int | None = None

    @property
    def stage(self) -> str:
        if self.command_delay_ms is not None:
            return "every reply"
        return "rcpt" if self.reply is not None else "data"

    def applies_to(self, recipients: list[str]) -> bool:
        if self.count == 0:
            return False
        if self.match is None:
            return True
        needle = self.match.lower()
        return any(needle in recipient.lower() for recipient in recipients)

    def consume(self) -> None:
        if self.count is not None:
            self.count -= 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stage": self.stage,
            "reply": self.reply,
            "delay_ms": self.delay_ms,
            "command_delay_ms": self.command_delay_ms,
            "drop_connection": self.drop_connection,
            "match": self.match,
            "count": self.count,
        }

    @classmethod
    def from_json(cls, rule_id: int, data: Any) -> FaultRule:
        """Validate one rule from the API; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a fault rule is a JSON object")
        unknown = set(data) - _RULE_KEYS
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        reply, delay_ms, command_delay_ms = (
            data.get("reply"),
            data.get("delay_ms"),
            data.get("command_delay_ms"),
        )
        drop, match, count = data.get("drop_connection", False), data.get("match"), data.get("count")
        if not isinstance(drop, bool):
            raise ValueError("drop_connection must be true or false")
        actions = (reply is not None) + (delay_ms is not None) + (command_delay_ms is not None) + drop
        if actions != 1:
            raise ValueError(
                "a fault rule needs exactly one of reply, delay_ms, command_delay_ms, drop_connection"
            )
        if reply is not None and not (isinstance(reply, str) and _REPLY.match(reply) and len(reply) <= 512):
            raise ValueError('reply must be one 4xx or 5xx SMTP reply line, e.g. "451 4.3.0 Try again later"')
        for name, value in (("delay_ms", delay_ms), ("command_delay_ms", command_delay_ms)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DELAY_MS
            ):
                raise ValueError(f"{name} must be an integer from 0 to {MAX_DELAY_MS}")
        if command_delay_ms is not None and match is not None:
            raise ValueError("command_delay_ms applies to every connection: it takes no match")
        if match is not None and not (isinstance(match, str) and match):
            raise ValueError("match must be a non-empty string")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer, or omitted for forever")
        return cls(
            id=rule_id,
            reply=reply,
            delay_ms=delay_ms,
            command_delay_ms=command_delay_ms,
            drop_connection=drop,
            match=match,
            count=count,
        )


class FaultRules:
    """The active rules, in the order they were added. Used from the sink's event loop only."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def parse(self, payload: Any) -> list[FaultRule]:
        """One rule (an object) or several (a list), all valid or none added."""
        items = payload if isinstance(payload, list) else [payload]
        rules = []
        for offset, item in enumerate(items):
            rules.append(FaultRule.from_json(self._next_id + offset, item))
        self._next_id += len(rules)
        return rules

    def add(self, rules: list[FaultRule]) -> None:
        self._rules.extend(rules)

    def replace(self, rules: list[FaultRule]) -> None:
        self._rules = list(rules)

    def clear(self) -> int:
        count = len(self._rules)
        self._rules.clear()
        return count

    def active(self) -> list[FaultRule]:
        self._rules = [rule for rule in self._rules if rule.count != 0]
        return list(self._rules)

    def take_reply(self, recipient: str) -> str | None:
        for rule in self.active():
            if rule.reply is not None and rule.applies_to([recipient]):
                rule.consume()
                return rule.reply
        return None

    def take_drop(self, recipients: list[str]) -> bool:
        for rule in self.active():
            if rule.drop_connection and rule.applies_to(recipients):
                rule.consume()
                return True
        return False

    def take_delay_ms(self, recipients: list[str]) -> int:
        total = 0
        for rule in self.active():
            if rule.delay_ms is not None and rule.applies_to(recipients):
                rule.consume()
                total += rule.delay_ms
        return total

    def take_command_delay_ms(self) -> int:
        """The wait before the next reply of any connection: every `command_delay_ms` rule's."""
        total = 0
        for rule in self.active():
            if rule.command_delay_ms is not None:
                rule.consume()
                total += rule.command_delay_ms
        return total
