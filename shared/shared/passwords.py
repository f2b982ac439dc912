"""Passwords for staff and portal accounts: the policy, and argon2id hashing off the event loop.

Policy (docs/architecture.md, "Security rules"): at least 12 characters, at most 128, no
composition rules, refused when it is a common password or built from the person's own email.
Hashing: argon2id, m=19 MiB, t=2, p=1.
Under eventlet the hash runs in a native thread (`eventlet.tpool`), so the hub keeps serving other
workers and heartbeats while it runs; `tests/unit/test_passwords.py` proves it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 128
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1

# Words that most leaked password lists are built from, with the suffixes people add to reach a
# length rule. Their combinations of 12 or more characters form the blocklist.
_COMMON_WORDS = """
password passw0rd p@ssword p@ssw0rd qwerty qwertyuiop qwertyuiopasdfgh asdfgh asdfghjkl zxcvbnm
letmein welcome iloveyou admin administrator football baseball basketball soccer hockey monkey
dragon sunshine princess master shadow superman batman trustno1 whatever starwars computer
michael jennifer jordan hunter ranger buster charlie thomas summer winter spring autumn
freedom secret changeme default login access portal tenant landlord property rental apartment
flower cookie chocolate pokemon liverpool chelsea arsenal manchester london newyork
""".split()
_SUFFIXES = [
    "",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "1234567",
    "12345678",
    "!",
    "1!",
    "123!",
    "2023",
    "2024",
    "2025",
    "2026",
    "2027",
    "01",
    "99",
    "00",
    "69",
    "007",
    "@123",
]
_SEQUENCES = [
    "1234567890",
    "0987654321",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "abcdefghijklmnopqrstuvwxyz",
    "1q2w3e4r5t6y",
    "q1w2e3r4t5y6",
    "1qaz2wsx3edc",
    "qazwsxedcrfv",
    "zaq12wsxcde3",
]


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    found: set[str] = set()
    for word, suffix in itertools.product(_COMMON_WORDS, _SUFFIXES):
        for candidate in (word + suffix, word + word + suffix, word.capitalize() + suffix):
            if len(candidate) >= MIN_LENGTH:
                found.add(candidate.lower())
    for sequence in _SEQUENCES:
        for end in range(MIN_LENGTH, len(sequence) * 2 + 1):
            found.add((sequence * 2)[:end])
    return frozenset(found)


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Every reason `password` is refused, for a person to read; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        problems.append("This password is too common or too simple; choose one that is hard to guess.")
    if email:
        local_part = email.lower().split("@", 1)[0]
        if len(local_part) >= 4 and local_part in lowered:
            problems.append("Do not build your password from your email address.")
    return problems


T = TypeVar("T")


def _run_here(func: Callable[..., T], *args: Any) -> T:
    return func(*args)


class Passwords:
    """Hashes and verifies with argon2id. `run_blocking` decides where the hash runs: directly, or
    in a native thread under eventlet (`green_passwords`)."""

    def __init__(self, run_blocking: Callable[..., Any] = _run_here) -> None:
        self._hasher = PasswordHasher(
            time_cost=ARGON2_TIME_COST,
            memory_cost=ARGON2_MEMORY_KIB,
            parallelism=ARGON2_PARALLELISM,
            type=Type.ID,
        )
        self._run = run_blocking
        # What an unknown account is verified against: made now (at a service's start, in the
        # native thread), so even the first unknown email of a process costs one verification,
        # exactly like a known one, and nothing is ever hashed on the eventlet hub.
        self._dummy_hash: str = self.hash("not-a-password-of-anyone")

    def hash(self, password: str) -> str:
        return self._run(self._hasher.hash, password)  # type: ignore[no-any-return]

    def verify(self, password_hash: str, password: str) -> bool:
        return self._run(self._verify, password_hash, password)  # type: ignore[no-any-return]

    def verify_nothing(self, password: str) -> bool:
        """Spend the time of a real verification and fail: the answer for an unknown account must
        not come back faster than for a known one."""
        self.verify(self._dummy_hash, password)
        return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def green_passwords() -> Passwords:
    """Passwords for an eventlet process: argon2 (pure C, no Python objects shared) in tpool."""
    from eventlet import tpool

    return Passwords(run_blocking=tpool.execute)
