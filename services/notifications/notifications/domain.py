"""Pure rules of sending email: what an SMTP outcome means, when to try again, which template.

No I/O, no framework: every function takes what it needs and returns a decision.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.contracts.common import normalize_email
from shared.contracts.notifications import DeliveryPurpose, DeliveryStatus
from shared.sealing import LinkSealer, SealedLink, SealError

# Emails whose link is a secret: the event brings it sealed, and the sender opens it at send time.
# Every other purpose links to an ordinary page the person signs in to see.
SEALED_LINK_PURPOSES = frozenset({DeliveryPurpose.INVITATION, DeliveryPurpose.PASSWORD_RESET})

DEFAULT_LOCALE = "en"

# Permanent refusals that say the mailbox itself is wrong: no such user (550), not local (551),
# not a valid mailbox name (553). Sending there again would only hurt the sender's reputation.
SUPPRESSING_CODES = frozenset({550, 551, 553})
SUPPRESSED_REASON = "the address is suppressed after an earlier permanent failure"


def idempotency_key(event_id: UUID, purpose: str, recipient_id: UUID | None = None) -> str:
    """One email per (event, purpose), however often the event is delivered; for an event that
    tells several people, one per (event, purpose, recipient)."""
    if recipient_id is None:
        return f"{event_id}:{purpose}"
    return f"{event_id}:{purpose}:{recipient_id}"


def initial_status(suppressed: bool, *, refused: bool = False) -> DeliveryStatus:
    """A refused sealed link fails its delivery before it is queued; a suppressed address holds it."""
    if refused:
        return DeliveryStatus.FAILED
    return DeliveryStatus.SUPPRESSED if suppressed else DeliveryStatus.QUEUED


# --- sealed links ----------------------------------------------------------------------------

# Why a sealed link does not go out with a delivery: what staff see as the delivery's result.
# Fixed sentences: a reason never quotes the link, and names no address either.
OTHER_RECIPIENT = "refused: the sealed link names another recipient"
OTHER_PURPOSE = "refused: the sealed link is for another purpose"
OTHER_SUBJECT = "refused: the sealed link is for another invitation or account"
LINK_EXPIRED = "refused: the sealed link has expired"


class LinkRefused(Exception):
    """A sealed link that must not go out with this delivery; the message is the reason."""


def link_refusal(
    opened: SealedLink, *, purpose: str, subject_id: UUID, recipient: str, now: datetime
) -> str | None:
    """Why this opened link may not be sent in this delivery, or None when it may: the seal names
    the delivery's recipient, purpose and subject, and has not expired. An event republished
    with another address (issue 12) keeps the first recipient in its seal, which no one without
    the key can change."""
    if opened.recipient != normalize_email(recipient):
        return OTHER_RECIPIENT
    if opened.purpose != purpose:
        return OTHER_PURPOSE
    if opened.subject != subject_id:
        return OTHER_SUBJECT
    if opened.expires_at <= now:
        return LINK_EXPIRED
    return None


def open_link(
    sealer: LinkSealer, sealed: object, *, purpose: str, subject_id: UUID, recipient: str, now: datetime
) -> str:
    """The link to put in this delivery's email; LinkRefused with the reason when it may not go."""
    try:
        opened = sealer.open(sealed)
    except SealError as exc:
        raise LinkRefused(f"refused: {exc}") from None
    reason = link_refusal(opened, purpose=purpose, subject_id=subject_id, recipient=recipient, now=now)
    if reason is not None:
        raise LinkRefused(reason)
    return opened.link


# --- maintenance updates ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    contact_id: UUID
    email: str
    name: str
    locale: str


def tells_tenants(previous_status: str | None) -> bool:
    """A status change is emailed; the submission itself is not (the tenant just made it)."""
    return previous_status is not None


def maintenance_recipients(
    party_ids: Sequence[UUID], contacts: Mapping[UUID, Recipient], with_access: Collection[UUID]
) -> list[Recipient]:
    """Who hears of a maintenance request's new status: each party of the lease, once, in the
    lease's order, who has portal access now (the email links to a portal page) and whom contacts
    still knows (an archived contact is left out of `contacts`)."""
    chosen: dict[UUID, Recipient] = {}
    for contact_id in party_ids:
        if contact_id in with_access and contact_id in contacts:
            chosen.setdefault(contact_id, contacts[contact_id])
    return list(chosen.values())


# --- outcomes ---------------------------------------------------------------------------------


class Action(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Decision:
    action: Action
    suppress: bool = False


def suppresses(code: int | None) -> bool:
    return code in SUPPRESSING_CODES


def decide(
    code: int | None, attempts: int, max_attempts: int, *, recipient_refused: bool = False
) -> Decision:
    """What to do after an attempt: `code` is the server's reply, None when there was none
    (timeout, refused or dropped connection, an email that could not be rendered).

    2xx: sent. 5xx: failed at once, no retry; the address is suppressed when the refusal was the
    reply to RCPT (about the mailbox, not about this message) with a suppressing code. Anything
    else is transient: tried again until `attempts` (this one included) reaches `max_attempts`.
    """
    if code is not None and 200 <= code < 300:
        return Decision(Action.SENT)
    if code is not None and 500 <= code < 600:
        return Decision(Action.FAILED, suppress=recipient_refused and suppresses(code))
    if attempts >= max_attempts:
        return Decision(Action.FAILED)
    return Decision(Action.RETRY)


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float, jitter: float) -> float:
    """Seconds to wait before the next attempt, after `attempts` attempts (1 or more).

    Capped exponential back-off (base, 2 base, 4 base, ... at most `cap`) with "equal jitter":
    `jitter` in [0, 1] picks a point in the upper half of that step, so senders retrying together
    spread out but nobody waits less than half the step or more than the cap.
    """
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter must be between 0 and 1")
    exponent = min(max(attempts, 1) - 1, 60)  # 2**60 s is past any cap; keeps the float finite
    step = min(cap_seconds, base_seconds * 2.0**exponent)
    return step / 2 + (step / 2) * jitter


def claim_size(waiting: int, batch_size: int) -> int:
    """How many due deliveries a sender claims now, with `waiting` claimed and not yet started:
    none while more than half of `batch_size` waits, else enough to fill the batch again.

    Topping the queue up each time a worker takes an email made one claim per email sent: an
    UPDATE that walks the due index past every row the senders hold, so it cost more with each
    sender added. Claiming in chunks makes it one per half batch; the half left still keeps every
    worker busy while the claim runs."""
    if waiting > batch_size // 2:
        return 0
    return batch_size - waiting


def claim_is_fresh(elapsed_seconds: float, lease_seconds: float) -> bool:
    """A claimed delivery is sent only within the first half of its lease; later, another sender
    may already be about to take it, so it is given back instead."""
    return elapsed_seconds < lease_seconds / 2


# --- templates --------------------------------------------------------------------------------


def choose_locale(requested: str | None, available: Collection[str], default: str = DEFAULT_LOCALE) -> str:
    """The template folder for a recipient's locale: the exact one ("en-GB"), else its language
    ("en"), else the default."""
    if requested:
        if requested in available:
            return requested
        language = requested.split("-", 1)[0].lower()
        if language in available:
            return language
    return default


def message_id(delivery_id: UUID, domain: str) -> str:
    """The same Message-ID on every attempt, so a receiver can see that two emails are one."""
    return f"<{delivery_id}@{domain}>"
