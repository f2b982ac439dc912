"""Sealing a link for the notifications service.

An invitation or reset link carries a secret token. It has to reach the notifications service,
which renders the email, but no other subscriber of the event, no outbox row and no broker queue
should hold it readable. So the producer seals the link (Fernet: AES-128-CBC with an HMAC) with
`LINK_SEALING_KEY`, which only the invitations and notifications services hold.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SealError(Exception):
    pass


def seal(key: str, link: str) -> str:
    return Fernet(key.encode()).encrypt(link.encode()).decode()


def unseal(key: str, sealed: str) -> str:
    try:
        return Fernet(key.encode()).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        raise SealError("the sealed link cannot be opened with this key") from None
