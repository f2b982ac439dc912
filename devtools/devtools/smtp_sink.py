"""An embedded SMTP sink: accepts every email, keeps it in memory, shows it on a local page.

Run it for a local platform (the notifications sender pointed at 127.0.0.1:1025):

    python -m devtools.smtp_sink [--host 127.0.0.1] [--smtp-port 1025] [--http-port 8025]
                                 [--max-messages 10000]

then open http://127.0.0.1:8025/ and click the invitation link. Tests start one in a thread on free
ports and read it with the stdlib-only `SinkClient`:

    with SmtpSink() as sink:
        client = sink.client()
        ...send...
        [email] = client.wait_for("tenant@example.com")

One process, one asyncio event loop: the SMTP server (aiosmtpd) and the web page and JSON API
(Starlette served by uvicorn) share it. Fault rules and counters are touched from that loop only;
the email store is locked, because the pages that parse emails run in Starlette's thread pool.

SMTP: no TLS; AUTH (PLAIN, LOGIN) accepts any credentials, so a sender configured with some works;
connections stay open for as many messages as the client sends (RSET between them is fine).
Fault rules (`FaultRule`): `reply` answers at the RCPT stage, per recipient; `delay_ms` and
`drop_connection` act at the DATA stage, after the content arrived and before the reply. An email is
stored, and counted as accepted, only when DATA is answered 250.

HTTP routes:
    GET  /                      received emails, newest first (`?refresh=5` reloads every 5 s)
    GET  /messages/{id}         one email: headers, links, HTML body (sandboxed iframe), text body
    GET  /messages/{id}/raw     its raw source as text/plain
    GET  /api/messages          [{id, received_at, mail_from, rcpt_tos, subject, from, to, message_id,
                                  text, html, links}], oldest first; `?to=` keeps the emails with that
                                  envelope recipient (case-insensitive, exact); text and html are ""
                                  when the email has no such part; links are the http(s) links of both
    GET  /api/messages/{id}     the same plus headers and raw
    DELETE /api/messages        forget every email (ids keep increasing; counters are kept)
    GET|POST|PUT|DELETE /api/faults   list, add, replace, clear the fault rules (see `FaultRule`)
    GET  /api/stats             {"accepted", "rejected", "dropped", "evicted"} since start
    GET  /healthz               {"status": "ok"}

Security: the page shows live invitation links, so it listens on 127.0.0.1 unless told otherwise,
and nothing it logs contains a body or a link (aiosmtpd's DEBUG records, which echo every DATA
line, are filtered out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.header
import email.message
import email.parser
import email.policy
import errno
import html
import ipaddress
import json
import logging
import re
import signal
import socket
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from html.parser import HTMLParser
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from devtools.sink_client import SinkClient, SinkError

__all__ = ["FaultRule", "SinkClient", "SinkError", "SinkStartError", "SmtpSink", "main"]

log = logging.getLogger("devtools.smtp_sink")

DEFAULT_MAX_MESSAGES = 10_000
INDEX_LIMIT = 500  # rows on the page; the JSON API returns every email
SMTP_HOSTNAME = "smtp-sink.localhost"


# ---------------------------------------------------------------------------------------------
# Messages


@dataclass(frozen=True)
class ParsedContent:
    """The parts of an email the page and the API show, from the full MIME parse."""

    header_from: str
    header_to: str
    message_id: str
    headers: tuple[tuple[str, str], ...]
    text: str | None
    html: str | None
    links: tuple[str, ...]


@dataclass(frozen=True)
class StoredMessage:
    """One accepted email. The full parse waits for the first reader: the stdlib's header parsing
    costs about 2 ms an email, which would cap the SMTP side near 400 emails a second."""

    id: int
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    raw: bytes

    @cached_property
    def content(self) -> ParsedContent:
        return parse_content(self.raw)

    def to_json(self, detail: bool = False) -> dict[str, Any]:
        content = self.content
        data: dict[str, Any] = {
            "id": self.id,
            "received_at": self.received_at.isoformat(timespec="milliseconds"),
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "subject": self.subject,
            "from": content.header_from,
            "to": content.header_to,
            "message_id": content.message_id,
            # "" when the email has no such part, so a test can search or join them as they are.
            "text": content.text or "",
            "html": content.html or "",
            "links": list(content.links),
        }
        if detail:
            data["headers"] = [list(pair) for pair in content.headers]
            data["raw"] = self.raw.decode("utf-8", "replace")
        return data


def parse_message(
    message_id: int, received_at: datetime, mail_from: str, rcpt_tos: list[str], raw: bytes
) -> StoredMessage:
    """An accepted email with its subject; the rest is parsed when first read."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    return StoredMessage(
        id=message_id,
        received_at=received_at,
        mail_from=mail_from,
        rcpt_tos=tuple(rcpt_tos),
        subject=_first_header(headers, "Subject"),
        raw=raw,
    )


def parse_content(raw: bytes) -> ParsedContent:
    """Headers, bodies and links of one email; never fails on a malformed one.

    The compat32 parser with our own decoding: `email.policy.default` gives the same text at
    about 30 times the cost (3 ms an email), which a page over thousands of emails would feel.
    """
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    text, html_body = _bodies(message)
    return ParsedContent(
        header_from=_first_header(message, "From"),
        header_to=_first_header(message, "To"),
        message_id=_first_header(message, "Message-ID"),
        headers=tuple((name, _decode_header(value)) for name, value in message.raw_items()),
        text=text,
        html=html_body,
        links=tuple(find_links(text, html_body)),
    )


_FOLDING = re.compile(r"\r?\n(?=[ \t])")


def _decode_header(value: Any) -> str:
    # 8-bit (SMTPUTF8) header bytes come out of the parser as surrogate escapes: they are UTF-8.
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = _FOLDING.sub("", text)
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except Exception:  # a malformed encoded word is shown as it came
        return text


def _first_header(message: email.message.Message, name: str) -> str:
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return _decode_header(value)
    return ""


def _bodies(message: email.message.Message) -> tuple[str | None, str | None]:
    """The first inline text/plain and text/html parts, decoded."""
    found: dict[str, str | None] = {"text/plain": None, "text/html": None}
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = str(part.get("Content-Disposition", "")).strip().lower()
        if content_type in found and found[content_type] is None and not disposition.startswith("attachment"):
            found[content_type] = _decode_payload(part)
    return found["text/plain"], found["text/html"]


def _decode_payload(part: email.message.Message) -> str | None:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        content = payload.decode(charset, "replace")
    except LookupError:  # a charset Python does not know
        content = payload.decode("utf-8", "replace")
    return content.replace("\r\n", "\n")


_TEXT_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area"):
            for name, value in attrs:
                if name == "href" and value:
                    self.links.append(value.strip())


def find_links(text: str | None, html_body: str | None) -> list[str]:
    """Every http(s) link of the HTML body (its anchors) and the text body, in order, once each."""
    found: list[str] = []
    if html_body:
        collector = _LinkCollector()
        with contextlib.suppress(Exception):  # a malformed body keeps the links found so far
            collector.feed(html_body)
            collector.close()
        found.extend(collector.links)
    if text:
        found.extend(match.rstrip(".,;:!?)]}") for match in _TEXT_URL.findall(text))
    links = [link for link in found if link.lower().startswith(("http://", "https://"))]
    return list(dict.fromkeys(links))


class MessageStore:
    """The last `max_messages` emails by id; the oldest is dropped when a new one would not fit.

    Locked, so a test may read it from its own thread while the sink's loop writes it.
    """

    def __init__(self, max_messages: int) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.max_messages = max_messages
        self._lock = threading.Lock()
        self._messages: OrderedDict[int, StoredMessage] = OrderedDict()
        self._next_id = 1
        self.evicted = 0

    def add(self, build: Callable[[int], StoredMessage]) -> StoredMessage:
        with self._lock:
            message = build(self._next_id)
            self._next_id += 1
            self._messages[message.id] = message
            while len(self._messages) > self.max_messages:
                self._messages.popitem(last=False)
                self.evicted += 1
            return message

    def find(self, to: str | None = None) -> list[StoredMessage]:
        with self._lock:
            messages = list(self._messages.values())
        if to is None:
            return messages
        wanted = to.strip().lower()
        return [m for m in messages if any(r.lower() == wanted for r in m.rcpt_tos)]

    def get(self, message_id: int) -> StoredMessage | None:
        with self._lock:
            return self._messages.get(message_id)

    def clear(self) -> int:
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)


# ---------------------------------------------------------------------------------------------
# Fault injection

_REPLY = re.compile(r"^[45][0-9][0-9]([ -][^\r\n]*)?$")
_RULE_KEYS = {"reply", "count", "match", "delay_ms", "drop_connection"}
MAX_DELAY_MS = 600_000


@dataclass
class FaultRule:
    """One fault, consumed once per message it applies to until its count reaches 0.

    Exactly one action:
    - `reply`: a 4xx or 5xx line sent instead of 250 at the RCPT stage, per recipient (the
      platform sends one recipient per email, so per message): a refused recipient is never stored.
    - `delay_ms`: wait that long at the DATA stage before the 250 reply (a real relay's pace).
    - `drop_connection`: close the connection abruptly at the DATA stage, after the content
      arrived and before any reply, the worst case for a sender: nothing is stored.
    `match`: only recipients containing this text (case-insensitive); at the DATA stage, a
    message matches when one of its recipients does. `count`: how many times; omitted = forever.
    Several rules may be active: all matching delays add up; for `reply` and `drop_connection`
    the oldest matching rule wins.
    """

    id: int
    reply: str | None = None
    delay_ms: int | None = None
    drop_connection: bool = False
    match: str | None = None
    count: int | None = None

    @property
    def stage(self) -> str:
        return "rcpt" if self.reply is not None else "data"

    def applies_to(self, recipients: list[str]) -> bool:
        if self.count == 0:
            return False
        if self.match is None:
            return True
        needle = self.match.lower()
        return any(needle in recipient.lower() for recipient in recipients)

    def consume(self) -> None:
        if self.count is not None:
            self.count -= 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stage": self.stage,
            "reply": self.reply,
            "delay_ms": self.delay_ms,
            "drop_connection": self.drop_connection,
            "match": self.match,
            "count": self.count,
        }

    @classmethod
    def from_json(cls, rule_id: int, data: Any) -> FaultRule:
        """Validate one rule from the API; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a fault rule is a JSON object")
        unknown = set(data) - _RULE_KEYS
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        reply, delay_ms = data.get("reply"), data.get("delay_ms")
        drop, match, count = data.get("drop_connection", False), data.get("match"), data.get("count")
        if not isinstance(drop, bool):
            raise ValueError("drop_connection must be true or false")
        actions = (reply is not None) + (delay_ms is not None) + drop
        if actions != 1:
            raise ValueError("a fault rule needs exactly one of reply, delay_ms, drop_connection")
        if reply is not None and not (isinstance(reply, str) and _REPLY.match(reply) and len(reply) <= 512):
            raise ValueError('reply must be one 4xx or 5xx SMTP reply line, e.g. "451 4.3.0 Try again later"')
        if delay_ms is not None and (
            isinstance(delay_ms, bool) or not isinstance(delay_ms, int) or not 0 <= delay_ms <= MAX_DELAY_MS
        ):
            raise ValueError(f"delay_ms must be an integer from 0 to {MAX_DELAY_MS}")
        if match is not None and not (isinstance(match, str) and match):
            raise ValueError("match must be a non-empty string")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer, or omitted for forever")
        return cls(id=rule_id, reply=reply, delay_ms=delay_ms, drop_connection=drop, match=match, count=count)


class FaultRules:
    """The active rules, in the order they were added. Used from the sink's event loop only."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def parse(self, payload: Any) -> list[FaultRule]:
        """One rule (an object) or several (a list), all valid or none added."""
        items = payload if isinstance(payload, list) else [payload]
        rules = []
        for offset, item in enumerate(items):
            rules.append(FaultRule.from_json(self._next_id + offset, item))
        self._next_id += len(rules)
        return rules

    def add(self, rules: list[FaultRule]) -> None:
        self._rules.extend(rules)

    def replace(self, rules: list[FaultRule]) -> None:
        self._rules = list(rules)

    def clear(self) -> int:
        count = len(self._rules)
        self._rules.clear()
        return count

    def active(self) -> list[FaultRule]:
        self._rules = [rule for rule in self._rules if rule.count != 0]
        return list(self._rules)

    def take_reply(self, recipient: str) -> str | None:
        for rule in self.active():
            if rule.reply is not None and rule.applies_to([recipient]):
                rule.consume()
                return rule.reply
        return None

    def take_drop(self, recipients: list[str]) -> bool:
        for rule in self.active():
            if rule.drop_connection and rule.applies_to(recipients):
                rule.consume()
                return True
        return False

    def take_delay_ms(self, recipients: list[str]) -> int:
        total = 0
        for rule in self.active():
            if rule.delay_ms is not None and rule.applies_to(recipients):
                rule.consume()
                total += rule.delay_ms
        return total


@dataclass
class Stats:
    accepted: int = 0  # messages stored after a 250 reply to DATA
    rejected: int = 0  # recipients refused by a `reply` fault
    dropped: int = 0  # connections closed by a `drop_connection` fault


@dataclass
class SinkState:
    store: MessageStore
    faults: FaultRules = field(default_factory=FaultRules)
    stats: Stats = field(default_factory=Stats)

    def stats_json(self) -> dict[str, int]:
        return {
            "accepted": self.stats.accepted,
            "rejected": self.stats.rejected,
            "dropped": self.stats.dropped,
            "evicted": self.store.evicted,
        }


# ---------------------------------------------------------------------------------------------
# SMTP


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


def _keep_message_content_out_of_logs() -> None:
    logger = logging.getLogger("mail.log")
    if _CONTENT_FILTER not in logger.filters:
        logger.addFilter(_CONTENT_FILTER)


# ---------------------------------------------------------------------------------------------
# Web page and JSON API

_SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
_HTML_HEADERS = {
    # The page needs no script at all; an email's own scripts stay off in the iframe too.
    "Content-Security-Policy": "script-src 'none'; object-src 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_STYLE = """
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
body { margin: 0 auto; padding: 0.75rem; max-width: 70rem; }
h1 { font-size: 1.4rem; margin: 0.25rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 0.5rem; }
nav a, nav span { margin-right: 1rem; display: inline-block; padding: 0.25rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 0.5rem 0; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.5rem; border-bottom: 1px solid #8884; }
td { overflow-wrap: anywhere; }
td.time { white-space: nowrap; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
ul.links li { margin: 0.35rem 0; overflow-wrap: anywhere; }
iframe { width: 100%; height: 60vh; border: 1px solid #8886; background: #fff; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0.5rem; border: 1px solid #8886; }
@media (max-width: 40rem) {
  body { padding: 0.5rem; font-size: 0.95rem; }
  th, td { padding: 0.35rem 0.25rem; }
  dl { grid-template-columns: 1fr; }
  dd { margin-bottom: 0.4rem; }
}
"""


def _page(title: str, body: str, refresh_seconds: int | None = None, status_code: int = 200) -> HTMLResponse:
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">\n' if refresh_seconds else ""
    document = (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{refresh}<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
    return HTMLResponse(document, status_code=status_code, headers=_HTML_HEADERS)


def _display_time(moment: datetime, now: datetime) -> str:
    if moment.date() == now.date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


def _refresh_seconds(request: Request) -> int | None:
    value = request.query_params.get("refresh", "")
    if value.isdigit() and 1 <= int(value) <= 3600:
        return int(value)
    return None


def _index_page(state: SinkState, smtp_address: str, refresh_seconds: int | None) -> HTMLResponse:
    e = html.escape
    messages = state.store.find()
    total = len(messages)
    shown_messages = list(reversed(messages[-INDEX_LIMIT:]))
    now = datetime.now(UTC)
    rows = []
    for message in shown_messages:
        stamp = message.received_at.isoformat(timespec="seconds")
        shown = _display_time(message.received_at, now)
        rows.append(
            "<tr>"
            f'<td class="time"><time datetime="{e(stamp)}">{e(shown)}</time></td>'
            f"<td>{e(', '.join(message.rcpt_tos))}</td>"
            f'<td><a href="/messages/{message.id}">{e(message.subject or "(no subject)")}</a></td>'
            "</tr>"
        )
    if refresh_seconds:
        refresh_nav = f'<span>Reloads every {refresh_seconds} s</span><a href="/">Stop auto-refresh</a>'
    else:
        refresh_nav = '<a href="/">Refresh</a><a href="/?refresh=5">Auto-refresh every 5 s</a>'
    caption_count = f"{total}" if total <= INDEX_LIMIT else f"the newest {INDEX_LIMIT} of {total}"
    if rows:
        listing = (
            '<div class="scroll" role="region" aria-labelledby="received" tabindex="0">\n<table>\n'
            f'<caption id="received">Received emails, newest first ({caption_count})</caption>\n'
            '<thead><tr><th scope="col">Received (UTC)</th><th scope="col">To</th>'
            '<th scope="col">Subject</th></tr></thead>\n'
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</div>"
        )
    else:
        listing = f"<p>No emails yet. Send to SMTP {e(smtp_address)} and they appear here.</p>"
    body = (
        "<header>\n<h1>SMTP sink</h1>\n"
        f"<p>SMTP on {e(smtp_address)}; keeps the last {state.store.max_messages} emails in memory.</p>\n"
        f'<nav aria-label="Page">{refresh_nav}</nav>\n</header>\n'
        f'<main aria-label="Received emails">\n{listing}\n</main>'
    )
    title = f"SMTP sink: {total} email{'' if total == 1 else 's'}"
    return _page(title, body, refresh_seconds)


def _message_page(message: StoredMessage) -> HTMLResponse:
    e = html.escape
    subject = message.subject or "(no subject)"
    content = message.content
    details = [
        ("Subject", subject),
        ("From", content.header_from),
        ("To", content.header_to),
        ("Envelope from", message.mail_from),
        ("Envelope recipients", ", ".join(message.rcpt_tos)),
        ("Received", message.received_at.isoformat(timespec="seconds")),
        ("Message-ID", content.message_id),
    ]
    header_list = "\n".join(f"<dt>{e(name)}</dt><dd>{e(value)}</dd>" for name, value in details if value)
    if content.links:
        items = "\n".join(f'<li><a href="{e(link)}">{e(link)}</a></li>' for link in content.links)
        links = f'<ul class="links">\n{items}\n</ul>'
    else:
        links = "<p>No links in this email.</p>"
    sections = [
        '<section aria-labelledby="headers">\n<h2 id="headers">Headers</h2>\n'
        f"<dl>\n{header_list}\n</dl>\n</section>",
        f'<section aria-labelledby="links">\n<h2 id="links">Links in this email</h2>\n{links}\n</section>',
    ]
    if content.html is not None:
        # Links in the email open in a new tab, as in a mail client; scripts and forms stay off.
        srcdoc = '<base target="_blank">' + content.html
        sections.append(
            '<section aria-labelledby="html-body">\n<h2 id="html-body">HTML body</h2>\n'
            f'<iframe title="HTML body of the email" sandbox="{_SANDBOX}" referrerpolicy="no-referrer" '
            f'srcdoc="{e(srcdoc, quote=True)}"></iframe>\n</section>'
        )
    if content.text is not None:
        sections.append(
            '<section aria-labelledby="text-body">\n<h2 id="text-body">Text body</h2>\n'
            f"<pre>{e(content.text)}</pre>\n</section>"
        )
    body = (
        f'<nav aria-label="Page"><a href="/">All emails</a>'
        f'<a href="/messages/{message.id}/raw">Raw source</a></nav>\n'
        f"<main>\n<h1>{e(subject)}</h1>\n" + "\n".join(sections) + "\n</main>"
    )
    return _page(f"{subject} - SMTP sink", body)


def _not_found_page(message_id: int) -> HTMLResponse:
    body = (
        f'<nav aria-label="Page"><a href="/">All emails</a></nav>\n'
        f"<main>\n<h1>No email {message_id}</h1>\n<p>It was never received, or it was cleared.</p>\n</main>"
    )
    return _page("Not found - SMTP sink", body, status_code=404)


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


def create_app(state: SinkState, smtp_address: str = "") -> Starlette:
    """The web page and JSON API over one sink's state.

    Endpoints that parse emails are plain functions, which Starlette runs in its thread pool: the
    first read of thousands of emails must not stall the SMTP side on the event loop. Those that
    touch fault rules or counters stay on the loop, their only writer.
    """

    def index(request: Request) -> Response:
        return _index_page(state, smtp_address, _refresh_seconds(request))

    def show_message(request: Request) -> Response:
        message_id = request.path_params["message_id"]
        message = state.store.get(message_id)
        return _message_page(message) if message else _not_found_page(message_id)

    def show_raw(request: Request) -> Response:
        message = state.store.get(request.path_params["message_id"])
        if message is None:
            return PlainTextResponse("not found", status_code=404)
        return PlainTextResponse(
            message.raw.decode("utf-8", "replace"), headers={"Cache-Control": "no-store"}
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)  # no icon, and no 404 in the browser's console

    def list_messages(request: Request) -> Response:
        messages = state.store.find(to=request.query_params.get("to"))
        return JSONResponse([message.to_json() for message in messages])

    def get_message(request: Request) -> Response:
        message_id = request.path_params["message_id"]
        message = state.store.get(message_id)
        if message is None:
            return _error(404, f"no message {message_id}")
        return JSONResponse(message.to_json(detail=True))

    async def delete_messages(request: Request) -> Response:
        return JSONResponse({"deleted": state.store.clear()})

    async def list_faults(request: Request) -> Response:
        return JSONResponse([rule.to_json() for rule in state.faults.active()])

    async def change_faults(request: Request) -> Response:
        try:
            payload = json.loads(await request.body() or b"null")
            rules = state.faults.parse(payload)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return _error(400, str(exc))
        if request.method == "PUT":
            state.faults.replace(rules)
        else:
            state.faults.add(rules)
        created = [rule.to_json() for rule in rules]
        single = request.method == "POST" and not isinstance(payload, list)
        return JSONResponse(created[0] if single else created, status_code=201 if single else 200)

    async def delete_faults(request: Request) -> Response:
        return JSONResponse({"deleted": state.faults.clear()})

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats_json())

    return Starlette(
        routes=[
            Route("/", index),
            Route("/messages/{message_id:int}", show_message),
            Route("/messages/{message_id:int}/raw", show_raw),
            Route("/healthz", healthz),
            Route("/favicon.ico", favicon),
            Route("/api/messages", list_messages, methods=["GET"]),
            Route("/api/messages", delete_messages, methods=["DELETE"]),
            Route("/api/messages/{message_id:int}", get_message),
            Route("/api/faults", list_faults, methods=["GET"]),
            Route("/api/faults", change_faults, methods=["POST", "PUT"]),
            Route("/api/faults", delete_faults, methods=["DELETE"]),
            Route("/api/stats", stats),
        ]
    )


# ---------------------------------------------------------------------------------------------
# The sink: both servers on one loop, in the foreground (CLI) or a background thread (tests)


class SinkStartError(Exception):
    """A port cannot be listened on; the message says what to do."""


class _EmbeddedUvicorn(uvicorn.Server):
    # uvicorn installs its own SIGINT/SIGTERM handlers and re-raises the signal after shutdown;
    # the sink owns the process's signals and stops uvicorn itself.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int, flag: str) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise SinkStartError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SinkStartError(f"port {port} is in use: another SMTP sink running? use {flag}") from None
        raise SinkStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{host}]" if address.version == 6 else host


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class SmtpSink:
    """An SMTP server that keeps every email, with a web page and a JSON API over them.

    Port 0 picks a free port; the chosen ones are in `smtp_port` and `http_port` once bound.
    In a test: `with SmtpSink() as sink: client = sink.client()` (a background thread with its
    own event loop); in an asyncio program: `sink.bind()` then `await sink.serve(stop_event)`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        smtp_port: int = 0,
        http_port: int = 0,
        max_messages: int = DEFAULT_MAX_MESSAGES,
    ) -> None:
        self.host = host
        self.state = SinkState(store=MessageStore(max_messages))
        self._requested_ports = (smtp_port, http_port)
        self._smtp_sock: socket.socket | None = None
        self._http_sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread_error: BaseException | None = None

    # -- addresses

    @property
    def smtp_port(self) -> int:
        return self._bound(self._smtp_sock)[1]

    @property
    def http_port(self) -> int:
        return self._bound(self._http_sock)[1]

    @property
    def smtp_address(self) -> str:
        return f"{_url_host(self.host)}:{self.smtp_port}"

    @property
    def base_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.http_port}"

    def client(self, timeout: float = 10.0) -> SinkClient:
        return SinkClient(self.base_url, timeout=timeout)

    @property
    def messages(self) -> MessageStore:
        """Direct, thread-safe access to the kept emails for in-process tests."""
        return self.state.store

    def _bound(self, sock: socket.socket | None) -> tuple[Any, ...]:
        if sock is None:
            raise RuntimeError("the sink is not bound yet: call bind() or start() first")
        return sock.getsockname()

    def bind(self) -> None:
        """Listen on both ports now, so a taken port fails before anything starts."""
        if self._smtp_sock is not None:
            return
        smtp_port, http_port = self._requested_ports
        smtp_sock = _listen(self.host, smtp_port, "--smtp-port")
        try:
            http_sock = _listen(self.host, http_port, "--http-port")
        except SinkStartError:
            smtp_sock.close()
            raise
        self._smtp_sock, self._http_sock = smtp_sock, http_sock

    # -- asyncio

    async def serve(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        """Serve SMTP and HTTP on the running loop until `stop` is set, then close everything."""
        self.bind()
        assert self._smtp_sock is not None and self._http_sock is not None
        _keep_message_content_out_of_logs()
        loop = asyncio.get_running_loop()
        handler = SinkHandler(self.state)
        connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

        def smtp_protocol() -> SMTP:
            protocol = SMTP(
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

        smtp_server = await loop.create_server(smtp_protocol, sock=self._smtp_sock, backlog=1024)
        config = uvicorn.Config(
            create_app(self.state, self.smtp_address),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        web = _EmbeddedUvicorn(config)
        web_task = asyncio.create_task(web.serve(sockets=[self._http_sock]))
        stop_task = asyncio.create_task(stop.wait())
        try:
            while not web.started and not web_task.done():
                await asyncio.sleep(0.01)
            if web_task.done():
                await web_task
                raise RuntimeError("the sink's web server stopped while starting")
            log.info(
                "SMTP sink ready: SMTP on %s, emails at %s/ (keeps the last %d)",
                self.smtp_address,
                self.base_url,
                self.state.store.max_messages,
            )
            if not _is_loopback(self.host):
                log.warning("listening on %s: anyone who reaches it can read every email", self.host)
            if on_ready is not None:
                on_ready()
            await asyncio.wait({stop_task, web_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_task.cancel()
            smtp_server.close()
            for protocol in list(connections):
                if protocol.transport is not None:
                    protocol.transport.close()
            web.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await web_task
            await smtp_server.wait_closed()
            self._smtp_sock = self._http_sock = None
            log.info("SMTP sink stopped")

    # -- background thread

    def start(self, timeout: float = 10.0) -> SmtpSink:
        """Serve in a background thread with its own event loop; returns once both ports answer."""
        if self._thread is not None:
            raise RuntimeError("this sink was already started")
        self.bind()
        ready = threading.Event()

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.serve(self._stop, on_ready=ready.set)

        def target() -> None:
            try:
                asyncio.run(run())
            except BaseException as exc:  # reported to the starting thread
                self._thread_error = exc
                ready.set()

        self._thread = threading.Thread(target=target, name="smtp-sink", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"the SMTP sink did not start within {timeout:g} s")
        if self._thread_error is not None:
            raise RuntimeError(
                f"the SMTP sink failed to start: {self._thread_error!r}"
            ) from self._thread_error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the SMTP sink did not stop within {timeout:g} s")
        self._thread = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# Command line


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535; 0 picks a free one)")
    return port


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.smtp_sink",
        description="An SMTP server that keeps every email in memory and shows it on a local web page.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--smtp-port", type=_port, default=1025, help="SMTP port (default: 1025)")
    parser.add_argument("--http-port", type=_port, default=8025, help="web page and API port (default: 8025)")
    parser.add_argument(
        "--max-messages",
        type=_positive,
        default=DEFAULT_MAX_MESSAGES,
        help=f"emails kept; the oldest is dropped first (default: {DEFAULT_MAX_MESSAGES})",
    )
    return parser.parse_args(argv)


def _configure_cli_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s smtp-sink %(name)s: %(message)s",
    )
    # aiosmtpd logs every command of every connection at INFO; uvicorn repeats our startup line.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


async def _serve_until_signalled(sink: SmtpSink) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await sink.serve(stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _configure_cli_logging()
    sink = SmtpSink(args.host, args.smtp_port, args.http_port, args.max_messages)
    try:
        sink.bind()
    except SinkStartError as exc:
        print(f"smtp-sink: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve_until_signalled(sink))
    return 0


if __name__ == "__main__":
    sys.exit(main())
