"""An accepted email and its parse: headers, the text and HTML bodies, the links in them."""

from __future__ import annotations

import contextlib
import email
import email.header
import email.message
import email.parser
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from html.parser import HTMLParser
from typing import Any


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
