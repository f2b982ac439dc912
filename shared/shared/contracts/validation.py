"""Turning a pydantic failure into an error a person can read, without echoing the input."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.contracts.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], payload: Any) -> M:
    """Validate an incoming payload. A failure is InvalidInput naming each bad field; it never
    echoes the values (a password could be one of them)."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput("the request is not valid", {"errors": describe_errors(exc)}) from None


def describe_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "(body)",
            "message": error["msg"],
        }
        for error in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
