"""Logging for every process: one line per record, and no secret ever written.

Invitation and reset links, tokens, session ids and bearer credentials are replaced by
`[REDACTED]` in every record, whatever logger wrote it (uvicorn, nameko, kombu, ours).
"""

from __future__ import annotations

import logging
import logging.config
import re

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


def configure_logging(process_name: str, level: str = "INFO") -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            # nameko and kombu create their loggers at import: keep them (DESIGN.md pitfall).
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
