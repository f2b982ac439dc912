"""Logging for every process: one line per record, and no secret ever written.

Invitation and reset links, tokens, session ids and bearer credentials are replaced by
`[REDACTED]` in every record, whatever logger wrote it (uvicorn, nameko, kombu, ours).

A contract error an RPC method answers with (a not-found, a conflict, a refused password) is
part of the answer, not a fault: it is logged as one line naming the method and the error's code
(`OneLineContractErrors`). Anything else an entrypoint raises keeps its traceback.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

from shared.contracts.errors import OUTAGES, REFUSALS

REDACTED = "[REDACTED]"

_PATTERNS = [
    # a link or path with a secret in it: /invite/<token>, /reset/<token>
    re.compile(r"(?P<keep>/(?:invite|reset)/)[A-Za-z0-9_\-]{8,}"),
    # key=value and "key": "value" forms of anything secret
    re.compile(
        r"(?P<keep>(?:token|session_id|session|password|password_confirmation|api_token|csrf\w*|"
        r"sealed_link|authorization|cookie)[\"']?\s*[:=]\s*[\"']?(?:Bearer\s+)?)[^\s\"'&,;}]+",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<keep>Bearer\s+)[A-Za-z0-9_\-.]+", re.IGNORECASE),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("keep") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


# The logger nameko's container writes every exception an entrypoint raises to, with its traceback.
NAMEKO_WORKER_LOGGER = "nameko.containers"


def contract_error_level(exc: BaseException) -> int | None:
    """The level of the one line that stands for `exc`, or None when `exc` keeps its traceback:
    a refusal (the caller's mistake or lack of rights) is INFO, an outage of what this service
    called is WARNING, anything else (a bug, a database outage) is not a contract error."""
    if isinstance(exc, REFUSALS):
        return logging.INFO
    if isinstance(exc, OUTAGES):
        return logging.WARNING
    return None


class OneLineContractErrors(logging.Filter):
    """For nameko's container logger: an exception that an entrypoint declares expected
    (`@rpc(expected_exceptions=ServiceError)`) and that is a contract error becomes one line,
    `<service>.<method> answered <code>`, at `contract_error_level`. The line never carries the
    error's message or details (an email address can be in them), nor the request.
    Under fuzzing, the full traceback of every not-found grew one service's log to 12 MB."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or not isinstance(record.args, tuple) or not record.args:
            return True
        exc = record.exc_info[1]
        worker_ctx: Any = record.args[0]
        entrypoint: Any = getattr(worker_ctx, "entrypoint", None)
        expected = getattr(entrypoint, "expected_exceptions", ())
        level = contract_error_level(exc) if exc is not None else None
        if level is None or not expected or not isinstance(exc, expected):
            return True
        record.msg = "%s.%s answered %s"
        record.args = (worker_ctx.service_name, entrypoint.method_name, getattr(exc, "code", "error"))
        record.levelno = level
        record.levelname = logging.getLevelName(level)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return logging.getLogger(record.name).isEnabledFor(level)


def log_contract_errors_in_one_line() -> None:
    """Install `OneLineContractErrors` on nameko's container logger, once per process."""
    logger = logging.getLogger(NAMEKO_WORKER_LOGGER)
    if not any(isinstance(f, OneLineContractErrors) for f in logger.filters):
        logger.addFilter(OneLineContractErrors())


def configure_logging(process_name: str, level: str = "INFO") -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            # nameko and kombu create their loggers at import: keep them
            # (docs/architecture.md, "Pitfalls of this stack").
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": RedactingFilter}},
            "formatters": {
                "line": {
                    "format": f"%(asctime)s %(levelname)s {process_name} %(name)s: %(message)s",
                }
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "line",
                    "filters": ["redact"],
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
            "loggers": {
                "amqp": {"level": "WARNING"},
                "kombu": {"level": "WARNING"},
                "aiormq": {"level": "WARNING"},
                "aio_pika": {"level": "WARNING"},
                "nameko": {"level": "INFO"},
                "uvicorn.access": {"level": "WARNING"},
            },
        }
    )
