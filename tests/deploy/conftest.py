"""What the deploy tests share: where the files are, and settings built from a given environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture
def load_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[type[BaseSettings], Mapping[str, str]], BaseSettings]:
    """Build a settings class from exactly `env` (nothing of this process's own environment)."""

    def load(cls: type[BaseSettings], env: Mapping[str, str]) -> BaseSettings:
        with monkeypatch.context() as patch:
            for name in cls.model_fields:
                patch.delenv(name.upper(), raising=False)
            for key, value in env.items():
                patch.setenv(key, value)
            return cls()

    return load
