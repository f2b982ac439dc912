from __future__ import annotations

from pydantic import AnyHttpUrl, Field, model_validator

from shared.contracts.properties import DEFAULT_MAX_DOCUMENT_BYTES, MAX_DOCUMENT_BYTES_CEILING
from shared.settings import CommonSettings


class GatewaySettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # The address people reach the portal at; redirects and links never trust the Host header.
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8000")
    # Mark cookies Secure. Off only for plain-http local runs; production refuses it off.
    cookie_secure: bool = False
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    # The largest document or maintenance photo, in bytes: the same variable (MAX_DOCUMENT_BYTES) as
    # the properties service's, which refuses a larger file (422). The upload routes take bodies of
    # this much plus `UPLOAD_FORM_OVERHEAD_BYTES` for the rest of the form.
    max_document_bytes: int = Field(default=DEFAULT_MAX_DOCUMENT_BYTES, ge=1, le=MAX_DOCUMENT_BYTES_CEILING)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # Proxies whose X-Forwarded-* headers are believed, e.g. "10.0.0.5"; none by default.
    forwarded_allow_ips: str | None = None
    # Token guessing: a client whose invitation or reset links answer "unknown" or "cannot be used"
    # this many times within the window gets 429 until the oldest of those leaves the window.
    token_guess_limit: int = Field(default=20, ge=1, le=10_000)
    token_guess_window_seconds: float = Field(default=600.0, gt=0, le=86_400)
    # A Server-Timing header naming each RPC a request made and its duration (portal_gateway/timing.py).
    server_timing: bool = False

    @model_validator(mode="after")
    def _secure_cookies_in_production(self) -> GatewaySettings:
        if self.environment == "production" and not self.cookie_secure:
            raise ValueError("COOKIE_SECURE must be true in production (sessions travel only over https)")
        return self
