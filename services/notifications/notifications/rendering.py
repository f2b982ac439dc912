"""Emails from templates: `templates/<locale>/<purpose>.subject.txt`, `.txt` and `.html`.

A locale is a folder; English (`en`) is the fallback for any locale without one. HTML templates
are autoescaped, text templates are not. Rendering happens in the sender, at send time, with the
link it has just unsealed: the rendered email exists only in memory. A maintenance update links
to an ordinary portal page, kept as it is in the delivery (`maintenance_values`).
"""

from __future__ import annotations

import functools
import quopri
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications import domain
from shared.contracts.notifications import DeliveryPurpose

TEMPLATES_DIR = Path(__file__).parent / "templates"
MAX_HEADER_LINE = 76  # a header this long or longer is folded (RFC 5322 recommends 78)
MAX_BODY_LINE = 78  # a 7bit body line at most this long; quoted-printable otherwise


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class Templates:
    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,  # loaded once: no file check for every email sent
        )
        self.locales = frozenset(path.name for path in directory.iterdir() if path.is_dir())

    def render(self, purpose: str, locale: str | None, values: dict[str, Any]) -> RenderedEmail:
        if purpose not in tuple(DeliveryPurpose):
            raise ValueError(f"no templates for purpose {purpose!r}")
        folder = domain.choose_locale(locale, self.locales)
        subject = self.env.get_template(f"{folder}/{purpose}.subject.txt").render(values)
        return RenderedEmail(
            subject=" ".join(subject.split()),  # one line, whatever the template's whitespace
            text=self.env.get_template(f"{folder}/{purpose}.txt").render(values),
            html=self.env.get_template(f"{folder}/{purpose}.html").render(values),
        )


def template_values(context: dict[str, Any], link: str) -> dict[str, Any]:
    """What the templates see: the delivery's stored context, readable dates, and the open link."""
    expires_at = datetime.fromisoformat(context["expires_at"]).astimezone(UTC)
    return {
        "recipient_name": context["recipient_name"],
        "organization_name": context.get("organization_name") or "",
        "is_resend": bool(context.get("is_resend")),
        "expires_at": expires_at,
        "expires": readable_moment(expires_at),
        "valid_for": readable_duration(int(context.get("valid_minutes") or 0)),
        "link": link,
    }


# The properties contract's words, as the portal shows them (portal_gateway/pages/tenancy.py).
MAINTENANCE_STATUSES = {
    "submitted": "Submitted",
    "acknowledged": "Acknowledged",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
MAINTENANCE_CATEGORIES = {
    "plumbing": "Plumbing",
    "electrical": "Electrical",
    "heating": "Heating",
    "appliances": "Appliances",
    "structural": "Structural",
    "pests": "Pests",
    "other": "Other",
}


def maintenance_values(context: dict[str, Any]) -> dict[str, Any]:
    """What the maintenance update templates see: the stored context with readable words. A
    status or category this version does not know is shown as it came."""

    def word(labels: dict[str, str], value: str | None) -> str:
        return labels.get(value or "", (value or "").replace("_", " ").capitalize())

    return {
        "recipient_name": context["recipient_name"],
        "organization_name": context.get("organization_name") or "",
        "place": f"{context['unit_name']}, {context['property_name']}",
        "category": word(MAINTENANCE_CATEGORIES, context.get("category")),
        "previous_status": word(MAINTENANCE_STATUSES, context.get("previous_status")),
        "status": word(MAINTENANCE_STATUSES, context["status"]),
        "note": context.get("note") or "",
        "link": context["link"],
    }


def readable_moment(moment: datetime) -> str:
    """'Saturday 28 November 2026 at 10:00 UTC'."""
    moment = moment.astimezone(UTC)
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


def readable_duration(minutes: int) -> str:
    """'1 hour', '7 days', '90 minutes'."""

    def plural(count: int, unit: str) -> str:
        return f"{count} {unit}" if count == 1 else f"{count} {unit}s"

    if minutes >= 1440 and minutes % 1440 == 0:
        return plural(minutes // 1440, "day")
    if minutes >= 60 and minutes % 60 == 0:
        return plural(minutes // 60, "hour")
    return plural(minutes, "minute")


def build_message(
    *,
    delivery_id: UUID,
    recipient: str,
    recipient_name: str,
    email: RenderedEmail,
    mail_from: str,
    mail_domain: str,
    now: datetime,
) -> bytes:
    """The email as the bytes that go to the SMTP server: text and HTML alternatives, UTF-8,
    7bit where every line allows it and quoted-printable otherwise, headers encoded and folded
    as RFC 2047 and 5322 ask.

    Written out directly rather than through `email.message.EmailMessage`, whose header
    registry and generator cost about 3 ms an email (docs/performance.md, "Bulk invitations"):
    more than everything else the sender does for one."""
    boundary = f"=_{uuid4().hex}"  # the parts are ASCII-only text of at most 78 columns a line
    headers = [
        ("From", _from_header(mail_from)),
        ("To", _address_header(recipient, recipient_name)),
        ("Subject", _text_header("Subject", email.subject)),
        ("Date", format_datetime(now.astimezone(UTC))),
        ("Message-ID", domain.message_id(delivery_id, mail_domain)),
        # Tells mail servers and clients it was sent by a machine (no auto-replies, RFC 3834).
        ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    lines = [f"{name}: {value}" for name, value in headers] + [""]
    for subtype, body in (("plain", email.text), ("html", email.html)):
        encoding, encoded = _encode_body(body)
        lines += [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            f"Content-Transfer-Encoding: {encoding}",
            "",
            encoded,
        ]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


@functools.cache
def _from_header(mail_from: str) -> str:
    """The configured sender, parsed and encoded once (it is the same for every email)."""
    name, address = parseaddr(mail_from)
    return _address_header(address, name)


def _address_header(address: str, name: str) -> str:
    if any(c in address for c in "\r\n") or not address:
        raise ValueError("an address header cannot hold this address")
    return formataddr((" ".join(name.split()), address), charset="utf-8")


def _text_header(name: str, value: str) -> str:
    value = " ".join(value.split())  # one line: no header can be smuggled in
    if value.isascii() and len(name) + len(value) < MAX_HEADER_LINE:
        return value
    return Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name).encode(
        linesep="\r\n"
    )


def _encode_body(body: str) -> tuple[str, str]:
    """('7bit', the text) when it is ASCII in short lines; quoted-printable otherwise. Line ends
    are CRLF either way."""
    text = body.replace("\r\n", "\n")
    lines = text.split("\n")
    if text.isascii() and all(len(line) <= MAX_BODY_LINE for line in lines):
        return "7bit", "\r\n".join(lines)
    encoded = quopri.encodestring(text.encode("utf-8")).decode("ascii")
    return "quoted-printable", "\r\n".join(encoded.split("\n"))
