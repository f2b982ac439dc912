"""Sealing a link for the notifications service, bound to the one email it may go out in.

An invitation or reset link carries a secret token. It has to reach the notifications service,
which renders the email, but no other subscriber of the event, no outbox row and no broker queue
should hold it readable. So the producer seals it (Fernet: AES-128-CBC with an HMAC).

A sealed link is not the link alone: it is a small document naming whom it may be sent to (the
normalized email), what for (the delivery purpose), about what (the invitation or the account)
and until when. Whoever republishes a captured event with an address of their own gets an email
the sender refuses, because the sealed part still names the first recipient and cannot be altered
without the key (issue 12).

Keys rotate: `LinkSealer` seals with the first of its keys and opens with any of them, so a new
key seals while the old ones still open the links already on their way, until they are retired
(`shared.settings.SealingServiceSettings`, docs/decisions.md "Sealing keys rotate").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.contracts.common import normalize_email

# What a delivery shows when its sealed link cannot be used: fixed sentences, never the link.
CANNOT_OPEN = "the sealed link cannot be opened with the current keys (unknown or retired key, or altered)"
UNBOUND = "the sealed link names no recipient, purpose, subject and expiry (sealed by an older version)"


class SealError(Exception):
    """A sealed link that cannot be used at all; the message is safe to show and record."""


@dataclass(frozen=True)
class SealedLink:
    """A sealed link once opened: the link, and the one email it may go out in."""

    link: str = field(repr=False)  # the secret itself: never in a repr, a log or a reason
    recipient: str  # normalized (`normalize_email`)
    purpose: str  # a `DeliveryPurpose` value
    subject: UUID  # the invitation, or the account of a password reset
    expires_at: datetime


class LinkSealer:
    """Seals with the first key, opens with any: `keys` are Fernet keys, newest first."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a link sealer needs at least one key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, link: str, *, recipient: str, purpose: str, subject: UUID, expires_at: datetime) -> str:
        if expires_at.tzinfo is None:
            raise ValueError("a sealed link's expiry needs its time zone")
        document = {
            "link": link,
            "recipient": normalize_email(recipient),
            "purpose": str(purpose),
            "subject": str(subject),
            "expires_at": expires_at.astimezone(UTC).isoformat(),
        }
        return self._fernet.encrypt(json.dumps(document, separators=(",", ":")).encode()).decode()

    def open(self, sealed: object) -> SealedLink:
        """The sealed document; SealError when no key opens it or it names nothing to check."""
        if not isinstance(sealed, str):
            raise SealError(CANNOT_OPEN)
        try:
            plain = self._fernet.decrypt(sealed.encode())
        except (InvalidToken, ValueError, TypeError):
            raise SealError(CANNOT_OPEN) from None
        try:
            document = json.loads(plain)
            opened = SealedLink(
                link=document["link"],
                recipient=document["recipient"],
                purpose=document["purpose"],
                subject=UUID(document["subject"]),
                expires_at=datetime.fromisoformat(document["expires_at"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            # A link sealed alone, as before issue 12, opens to a URL rather than a document.
            raise SealError(UNBOUND) from None
        if not all(isinstance(value, str) for value in (opened.link, opened.recipient, opened.purpose)):
            raise SealError(UNBOUND)
        if opened.expires_at.tzinfo is None:
            raise SealError(UNBOUND)
        return opened
