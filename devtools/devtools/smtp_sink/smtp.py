"""The SMTP side: an aiosmtpd handler that stores every email unless a fault rule says otherwise.

Connections stay open for as many messages as the client sends; AUTH accepts any credentials; no
body or link ever reaches a log.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from devtools.smtp_sink.messages import parse_message
from devtools.smtp_sink.state import SinkState

log = logging.getLogger("devtools.smtp_sink")

SMTP_HOSTNAME = "smtp-sink.localhost"


class SinkHandler:
    """aiosmtpd handler: accepts every recipient and message unless a fault rule says otherwise."""

    def __init__(self, state: SinkState) -> None:
        self.state = state

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.state.faults.take_reply(address)
        if reply is not None:
            self.state.stats.rejected += 1
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipients = list(envelope.rcpt_tos)
        if self.state.faults.take_drop(recipients):
            self.state.stats.dropped += 1
            log.info("dropped the connection before replying to DATA (fault rule)")
            transport = server.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
            elif transport is not None:
                transport.close()
            # connection_lost() cancels this coroutine; the reply below is only a safety net.
            await asyncio.sleep(60)
            return "421 4.4.2 connection dropped by a fault rule"
        delay_ms = self.state.faults.take_delay_ms(recipients)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        received_at = datetime.now(UTC)
        message = self.state.store.add(
            lambda message_id: parse_message(message_id, received_at, mail_from, recipients, raw)
        )
        self.state.stats.accepted += 1
        # Never the body or a link: links carry invitation and reset tokens.
        log.info("accepted message id=%d to=%s subject=%r", message.id, ",".join(recipients), message.subject)
        return f"250 2.0.0 OK: queued as {message.id}"


class _SinkSMTP(SMTP):
    """aiosmtpd's server, with a `command_delay_ms` fault rule's wait before each reply."""

    def __init__(self, state: SinkState, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink_state = state
        self._reply_continues = False  # the last line pushed was "250-...": more of that reply follows

    async def push(self, status: AnyStr) -> None:
        line = status.encode() if isinstance(status, str) else status
        if not self._reply_continues:  # the first line of a reply: the greeting or an answer
            delay_ms = self._sink_state.faults.take_command_delay_ms()
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
        self._reply_continues = line[3:4] == b"-"
        await super().push(status)


def _accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    # A local sender configured with credentials must work too; nothing here is protected by them.
    return AuthResult(success=True)


class _NoMessageContent(logging.Filter):
    """aiosmtpd logs every DATA line and AUTH exchange at DEBUG: keep those out of every log.

    Also its own deprecation warning, which it writes on every successful AUTH.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return False
        return not str(record.msg).startswith("Session.login_data is deprecated")


_CONTENT_FILTER = _NoMessageContent()


def keep_message_content_out_of_logs() -> None:
    logger = logging.getLogger("mail.log")
    if _CONTENT_FILTER not in logger.filters:
        logger.addFilter(_CONTENT_FILTER)


def smtp_protocols(
    state: SinkState, loop: asyncio.AbstractEventLoop
) -> tuple[Callable[[], SMTP], weakref.WeakSet[SMTP]]:
    """A protocol factory for `loop.create_server`, and the open connections it made (so a
    stopping sink can close them)."""
    handler = SinkHandler(state)
    connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def smtp_protocol() -> SMTP:
        protocol = _SinkSMTP(
            state,
            handler,
            hostname=SMTP_HOSTNAME,
            ident="portal SMTP sink",
            enable_SMTPUTF8=True,
            authenticator=_accept_any_login,
            auth_require_tls=False,
            loop=loop,
        )
        connections.add(protocol)
        return protocol

    return smtp_protocol, connections
