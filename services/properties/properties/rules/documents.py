"""Pure rules of documents and maintenance photos (`documents.py`): which files are accepted, who
sees a document by default, and who sees it at all, with the reasons. No I/O, no framework."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

from shared.contracts.common import ContactType
from shared.contracts.properties import (
    DocumentKind,
    DocumentRule,
    DocumentScope,
    DocumentVisibilityStep,
)

# --- files ------------------------------------------------------------------------------------

# How each accepted type's bytes begin: a file whose bytes say otherwise is refused, so a page
# cannot be stored as a "PNG" and handed back under that name.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


def decode_base64(text: str) -> bytes | None:
    """The bytes of standard base64 text, or None if it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def bytes_match_type(content_type: str, data: bytes) -> bool:
    """Whether the bytes are what the type says: a known signature, or for plain text UTF-8
    without NUL."""
    if content_type == "text/plain":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return b"\x00" not in data
    return data.startswith(_SIGNATURES.get(content_type, (b"\x00never",)))


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    return f"{n:,} bytes"


def file_problem(
    content_type: str, data: bytes | None, allowed: dict[str, str], max_bytes: int
) -> str | None:
    """Why a file cannot be stored, or None: not base64, empty, over `max_bytes`, of a type not in
    `allowed` (type -> name for people), or bytes that are not of the type it claims."""
    names = ", ".join(allowed.values())
    if data is None:
        return "the file is not standard base64"
    if not data:
        return "the file is empty"
    if len(data) > max_bytes:
        return f"the file is {_size(len(data))}: at most {_size(max_bytes)} is accepted"
    if content_type not in allowed:
        return f"files of type {content_type or '(none)'} are not accepted: send {names}"
    if not bytes_match_type(content_type, data):
        return f"the file's contents are not {allowed[content_type]}, as its type says"
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


def safe_file_name(name: str, fallback: str = "document") -> str:
    """The name to keep and to offer on download: the last part of a path a browser may send
    (`C:\\fakepath\\bill.pdf` is `bill.pdf`), without characters that mean something in a header
    or a file system, at most 255 characters; `fallback` if nothing is left."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = _UNSAFE_IN_NAME.sub("_", base).strip(" ._")
    return cleaned[-255:] if cleaned else fallback


# --- who sees a document ----------------------------------------------------------------------

# Who sees a new document when staff do not say: on a lease, its tenants (their invoice, their
# receipt, the quote for their repair); on a property, its landlord, and for anything that is not
# money, its vendor too; on a client group, the group's customers.
DEFAULT_AUDIENCES: dict[DocumentScope, dict[DocumentKind, tuple[ContactType, ...]]] = {
    DocumentScope.LEASE: {kind: (ContactType.TENANT,) for kind in DocumentKind},
    DocumentScope.PROPERTY: {
        DocumentKind.INVOICE: (ContactType.LANDLORD,),
        DocumentKind.QUOTE: (ContactType.LANDLORD,),
        DocumentKind.RECEIPT: (ContactType.LANDLORD,),
        DocumentKind.OTHER: (ContactType.LANDLORD, ContactType.VENDOR),
    },
    DocumentScope.CLIENT_GROUP: {kind: (ContactType.CUSTOMER,) for kind in DocumentKind},
}


def default_audiences(scope: DocumentScope, kind: DocumentKind) -> list[ContactType]:
    return list(DEFAULT_AUDIENCES[scope][kind])


# How a contact of each type is linked to what a document is about, said to staff.
LINK_WORDS: dict[DocumentScope, dict[ContactType, str]] = {
    DocumentScope.LEASE: {
        ContactType.TENANT: "a tenant on that lease",
        ContactType.LANDLORD: "a landlord of its property",
        ContactType.VENDOR: "a vendor of its property",
        ContactType.APPLICANT: "an applicant for its property",
    },
    DocumentScope.PROPERTY: {
        ContactType.TENANT: "a tenant on a lease of that property",
        ContactType.LANDLORD: "its landlord",
        ContactType.VENDOR: "its vendor",
        ContactType.APPLICANT: "an applicant for it",
    },
    DocumentScope.CLIENT_GROUP: {ContactType.CUSTOMER: "a customer of that client group"},
}
NO_LINK_WORDS: dict[DocumentScope, str] = {
    DocumentScope.LEASE: "not a tenant on that lease, nor a landlord, vendor or applicant of its property",
    DocumentScope.PROPERTY: (
        "not its landlord, vendor or applicant, nor a tenant on a lease of it, nor an authorised "
        "account of a client group it is in (or of a group above that one)"
    ),
    DocumentScope.CLIENT_GROUP: "not an authorised account of that client group, nor of a group above it",
}


def customer_link_words(scope: DocumentScope, group_name: str, authorised_on: str) -> str:
    """How a customer is linked to a client group's document, or to a document of a property in a
    client group, said to staff: through `group_name` (the document's group, or its property's)
    itself, or through `authorised_on`, a group above it, which the customer is an authorised
    account of."""
    if scope == DocumentScope.CLIENT_GROUP:
        if group_name == authorised_on:
            return f"a customer authorised on {group_name}"
        return f"a customer authorised on {authorised_on}, a client group above {group_name}"
    if group_name == authorised_on:
        return f"a customer authorised on its client group, {group_name}"
    return f"a customer authorised on {authorised_on}, a client group above its group {group_name}"


@dataclass(frozen=True)
class DocumentDecision:
    visible: bool
    chain: list[DocumentVisibilityStep]


def _types(types: Collection[ContactType]) -> str:
    ordered = [t for t in ContactType if t in types]
    plural = [f"{t.value}s" for t in ordered]
    return plural[0] if len(plural) == 1 else ", ".join(plural[:-1]) + " and " + plural[-1]


def decide_document_visibility(
    scope: DocumentScope,
    about: str,
    linked_as: Collection[ContactType],
    audiences: Collection[ContactType],
    customer_link: str | None = None,
) -> DocumentDecision:
    """Whether a contact sees a document, and why: they must be linked to what it is about (`about`,
    e.g. "the lease of Flat 1, Rose Cottage") as some contact type (`linked_as`: a tenant on the
    lease, the property's landlord, ...), and the document must be shared with one of those types.
    `customer_link` names the client group through which a customer is linked
    (`customer_link_words`)."""
    linked = [t for t in ContactType if t in linked_as]
    shared_with = set(audiences) & set(linked)
    words_for = {**LINK_WORDS[scope], **({ContactType.CUSTOMER: customer_link} if customer_link else {})}
    if linked:
        words = " and ".join(words_for.get(t, f"a {t.value}") for t in linked)
        link_text = f"This document is about {about}; this contact is {words}."
    else:
        link_text = f"This document is about {about}; this contact is {NO_LINK_WORDS[scope]}."
    if not audiences:
        audience_text = "It is shared with no contacts: only staff see it."
    elif shared_with:
        audience_text = (
            f"It is shared with {_types(audiences)}; this contact is linked as "
            f"{' and '.join(t.value for t in linked if t in shared_with)}, one of them."
        )
    elif linked:
        audience_text = (
            f"It is shared with {_types(audiences)} only; this contact is linked as "
            f"{' and '.join(t.value for t in linked)}, which is not one of them."
        )
    else:
        audience_text = f"It is shared with {_types(audiences)}, but this contact has no link that counts."
    visible = bool(shared_with)
    result_text = (
        "So this contact sees it and can download it on the portal (while they have portal access)."
        if visible
        else "So this contact does not see it: the portal answers as if it did not exist."
    )
    return DocumentDecision(
        visible=visible,
        chain=[
            DocumentVisibilityStep(rule=DocumentRule.SCOPE_LINK, passed=bool(linked), explanation=link_text),
            DocumentVisibilityStep(rule=DocumentRule.AUDIENCE, passed=visible, explanation=audience_text),
            DocumentVisibilityStep(rule=DocumentRule.RESULT, passed=visible, explanation=result_text),
        ],
    )
