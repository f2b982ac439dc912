"""One SMTP connection, reused for many emails, and what became of each email sent over it.

Connected lazily, checked with NOOP after a quiet spell, dropped after a timeout or a connection
error and opened again for the next email. A refused email leaves the connection usable (aiosmtplib
resets the envelope with RSET). Every command has the configured timeout.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import aiosmtplib

from notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)

# A connection unused this long may have been closed by the server: NOOP before reusing it.
IDLE_CHECK_SECONDS = 10.0
SERVICE_CLOSING = 421


@dataclass(frozen=True)
class Outcome:
    """What the server answered: `code` None when it did not (timeout, connection trouble)."""

    code: int | None
    reply: str
    # The refusal names the recipient's mailbox (a RCPT reply), not the message or the sender.
    recipient_refused: bool = False


class SmtpConnection:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self._last_used = 0.0

    async def send(self, message: bytes, recipient: str) -> Outcome:
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
            _, reply = await smtp.sendmail(self.settings.mail_from_address, [recipient], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return Outcome(refused.code, refused.message, recipient_refused=True)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == SERVICE_CLOSING:
                self.close()
            return Outcome(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Timed out or dropped mid-conversation: the connection's state is unknown.
            self.close()
            return Outcome(None, f"the mail server connection failed: {_describe(exc)}")
        self._last_used = time.monotonic()
        return Outcome(250, reply)

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
        await smtp.connect()
        self._smtp = smtp
        self._last_used = time.monotonic()
        return smtp

    def close(self) -> None:
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
