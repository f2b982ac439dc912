from __future__ import annotations

from pydantic import Field

from shared.contracts.properties import DEFAULT_MAX_DOCUMENT_BYTES, MAX_DOCUMENT_BYTES_CEILING
from shared.settings import ServiceSettings


class PropertiesSettings(ServiceSettings):
    # How often the timer looks for leases whose end date has passed (`lease_endings`), and how many
    # days back it looks.
    lease_end_sweep_seconds: float = Field(default=60, gt=0)
    lease_end_lookback_days: int = Field(default=30, ge=1, le=3650)
    # The largest document or maintenance photo stored, in bytes. The gateway reads the same
    # variable (MAX_DOCUMENT_BYTES) to size its body limit on the upload routes.
    max_document_bytes: int = Field(default=DEFAULT_MAX_DOCUMENT_BYTES, ge=1, le=MAX_DOCUMENT_BYTES_CEILING)
