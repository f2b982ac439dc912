"""Files handed to a browser: the stored bytes with their stored type, never sniffed, under a file
name that cannot break out of its header."""

from __future__ import annotations

import base64
import re
import unicodedata
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

# What the rest of a multipart form (fields, boundaries, part headers) may add to a file's size.
UPLOAD_FORM_OVERHEAD_BYTES = 64 * 1024
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ ()-]+")


def content_disposition(file_name: str, inline: bool = False) -> str:
    """`attachment` (or `inline`) with an ASCII `filename` every browser reads and the exact name
    as RFC 6266's `filename*`; quotes, backslashes, control characters and path separators never
    reach the header."""
    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode("ascii")
    plain = _NOT_PLAIN.sub("_", ascii_name).strip(" ._") or "download"
    exact = quote(file_name.replace("/", "_").replace("\\", "_"), safe="")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{exact}"


def file_response(content_base64: str, content_type: str, file_name: str, inline: bool = False) -> Response:
    headers: dict[str, Any] = {
        "Content-Disposition": content_disposition(file_name, inline),
        "X-Content-Type-Options": "nosniff",
    }
    return Response(base64.b64decode(content_base64), media_type=content_type, headers=headers)
