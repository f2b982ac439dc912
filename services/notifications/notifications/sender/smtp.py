"""One SMTP connection, reused for many emails, and what became of each email sent over it.

Connected lazily, checked with NOOP after a quiet spell, dropped after a timeout or a connection
error and opened again for the next email. A refused email leaves the connection usable (the
envelope is reset with RSET). Every command has the configured timeout.

An email is sent within its claim's lease (`sender/lease.py`). Everything up to the end of its
data (connecting, EHLO, MAIL, RCPT, DATA) may be abandoned: it stops when the lease ends, and the
connection is closed, so the server never gets the end of the data and delivers nothing. The
end of the data is sent only when a whole SMTP timeout of the lease is left, so the server's
answer, or the timeout, comes while the claim is still this sender's. That is why the DATA
command is sent here in two steps rather than with aiosmtplib's `sendmail`.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib import SMTPStatus

from notifications.sender.lease import Lease
from notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)

# A connection unused this long may have been closed by the server: NOOP before reusing it.
IDLE_CHECK_SECONDS = 10.0
SERVICE_CLOSING = 421
_LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class Outcome:
    """What the server answered: `code` None when it did not (timeout, connection trouble)."""

    code: int | None
    reply: str
    # The refusal names the recipient's mailbox (a RCPT reply), not the message or the sender.
    recipient_refused: bool = False
    # Stopped before the end of the data (the lease ran out, or the sender is stopping): the
    # server was never given the email.
    abandoned: bool = False


class _Abandoned(Exception):
    pass


class SmtpConnection:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._reset_due = False  # a refused transaction: RSET before the next one

    async def send(self, message: bytes, recipient: str, lease: Lease) -> Outcome:
        """Send one email within `lease`: see the module's docstring."""
        content = _LINE_ENDINGS.sub(b"\r\n", message)
        if not content.endswith(b"\r\n"):
            content += b"\r\n"
        try:
            async with lease.bound():
                begun = await self._begin(content, recipient)
                # The answer to the end of the data must come while the claim holds.
                if not await lease.reserve(self.settings.smtp_timeout_seconds):
                    raise _Abandoned
        except (TimeoutError, _Abandoned):  # the lease's end: each command's own timeout is caught inside
            self.close()  # in the middle of a transaction: closing it ends the transaction
            return Outcome(None, "stopped before the end of the email: its claim ran out", abandoned=True)
        if isinstance(begun, Outcome):
            await self._reset_if_due()  # out of the bound: what was refused stays refused
            return begun
        outcome = await self._end_data(begun, content)
        await self._reset_if_due()
        return outcome

    async def _begin(self, content: bytes, recipient: str) -> aiosmtplib.SMTP | Outcome:
        """Connect if need be, then MAIL, RCPT and DATA: the connection, ready for the data."""
        try:
            smtp = await self._connected()
        except aiosmtplib.SMTPResponseException as exc:
            # Refused at greeting, EHLO, STARTTLS or AUTH: a server or configuration problem, not
            # this email's, so it is tried again later whatever the code.
            self.close()
            return Outcome(None, f"the mail server refused the connection: {exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            self.close()
            return Outcome(None, f"cannot connect to the mail server: {_describe(exc)}")
        try:
            # RFC 1870: the size as transmitted, without the dot-stuffing and the final dot.
            options = [f"SIZE={len(content)}"] if smtp.supports_extension("size") else []
            await smtp.mail(self.settings.mail_from_address, options=options)
            await smtp.rcpt(recipient)
            ready = await smtp.execute_command(b"DATA")
            if ready.code != SMTPStatus.start_input:
                raise aiosmtplib.SMTPDataError(ready.code, ready.message)
        except aiosmtplib.SMTPRecipientRefused as exc:
            self._refused(exc.code)
            return Outcome(exc.code, exc.message, recipient_refused=True)
        except aiosmtplib.SMTPResponseException as exc:
            self._refused(exc.code)
            return Outcome(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Timed out or dropped mid-conversation: the connection's state is unknown.
            self.close()
            return Outcome(None, f"the mail server connection failed: {_describe(exc)}")
        return smtp

    async def _end_data(self, smtp: aiosmtplib.SMTP, content: bytes) -> Outcome:
        """The data and its final dot, and the server's answer: 250 means it has the email."""
        try:
            if smtp.protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            smtp.protocol.write(_LEADING_DOT.sub(b"..", content) + b".\r\n")
            reply = await smtp.protocol.read_response(timeout=self.settings.smtp_timeout_seconds)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            self.close()
            return Outcome(None, f"the mail server connection failed: {_describe(exc)}")
        if reply.code != SMTPStatus.completed:
            self._refused(reply.code)
            return Outcome(reply.code, reply.message)
        self._last_used = time.monotonic()
        return Outcome(250, reply.message)

    def _refused(self, code: int) -> None:
        if code == SERVICE_CLOSING:
            self.close()
        else:
            self._reset_due = True

    async def _reset_if_due(self) -> None:
        """RSET after a refusal, so the connection serves the next email; closed if that fails."""
        if not self._reset_due:
            return
        self._reset_due = False
        if self._smtp is None or not self._smtp.is_connected:
            return
        try:
            await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self.close()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            if time.monotonic() - self._last_used < IDLE_CHECK_SECONDS:
                return self._smtp
            try:
                await self._smtp.noop()
                self._last_used = time.monotonic()
                return self._smtp
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                log.info("an idle SMTP connection was closed by the server; reconnecting")
        self.close()
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=s.smtp_use_tls,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
            # Named here rather than looked up: a slow reverse DNS must not stall the sender.
            local_hostname=s.mail_domain,
        )
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:  # what `sendmail` would do, here before the first MAIL
                try:
                    await smtp.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await smtp.helo()
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        self._last_used = time.monotonic()
        return smtp

    def close(self) -> None:
        self._reset_due = False
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def quit(self) -> None:
        """Say goodbye politely if connected, within the timeout, then close."""
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass
        self.close()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__
