"""Secrets handed to people (tokens, session ids) and how they are stored: only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    """32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
