"""What the SMTP sink received against what a benchmark sent: lost and duplicated emails."""

from __future__ import annotations

from collections import Counter
from typing import Any


def count_deliveries(messages: list[dict[str, Any]], emails: list[str]) -> dict[str, Any]:
    """Lost: wanted recipients with no email; duplicated: recipients with more than one."""
    received = Counter(r.lower() for m in messages for r in m["rcpt_tos"])
    wanted = {e.lower() for e in emails}
    lost = sorted(wanted - set(received))
    duplicated = sorted(r for r, n in received.items() if n > 1)
    strangers = sorted(set(received) - wanted)
    return {
        "emails": len(messages),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "duplicate_emails": sum(received[r] - 1 for r in duplicated),
        "unexpected_recipients": len(strangers),
        "lost_examples": lost[:10],
        "duplicated_examples": duplicated[:10],
    }
