"""Event factories for every level of the notifications tests.

Loaded before tests/service/conftest.py patches eventlet: nothing here may import SQLAlchemy,
psycopg or kombu (only contracts and sealing).
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from shared.contracts import events as e
from shared.contracts.common import ContactType, utc_now
from shared.contracts.notifications import DeliveryPurpose
from shared.testing.helpers import random_email


@dataclass
class Sent:
    """An event as the invitations service publishes it, with the link it seals."""

    event: e.InvitationSent | e.PasswordResetRequested
    link: str
    token: str

    @property
    def sealed_link(self) -> str:
        return self.event.sealed_link


@pytest.fixture
def invitation_sent(settings):
    def make(email=None, organization_id=None, sealer=None, **fields) -> Sent:
        """The event and its link, sealed (with `sealer`, else the settings' keys) for its email."""
        token = secrets.token_urlsafe(32)
        link = f"https://portal.example.com/invite/{token}"
        now = utc_now()
        email = email or random_email("tenant")
        invitation_id = uuid.uuid4()
        expires_at = fields.pop("expires_at", now + timedelta(days=7))
        event = e.InvitationSent(
            organization_id=organization_id or uuid.uuid4(),
            invitation_id=invitation_id,
            contact_id=uuid.uuid4(),
            contact_type=ContactType.TENANT,
            email=email,
            recipient_name="Tess Tenant",
            organization_name="Acme Lettings",
            locale="en-GB",
            occurred_at=now,
            expires_at=expires_at,
            sent_by_staff_member_id=uuid.uuid4(),
            is_resend=False,
            sealed_link=(sealer or settings.link_sealer).seal(
                link,
                recipient=email,
                purpose=DeliveryPurpose.INVITATION,
                subject=invitation_id,
                expires_at=expires_at,
            ),
            **fields,
        )
        return Sent(event, link, token)

    return make


@pytest.fixture
def password_reset_requested(settings):
    def make(email=None, expires_in=timedelta(hours=1)) -> Sent:
        token = secrets.token_urlsafe(32)
        link = f"https://portal.example.com/reset/{token}"
        now = utc_now()
        email = email or random_email("account")
        account_id = uuid.uuid4()
        event = e.PasswordResetRequested(
            account_id=account_id,
            email=email,
            recipient_name="Tess Tenant",
            locale="en",
            occurred_at=now,
            expires_at=now + expires_in,
            sealed_link=settings.link_sealer.seal(
                link,
                recipient=email,
                purpose=DeliveryPurpose.PASSWORD_RESET,
                subject=account_id,
                expires_at=now + expires_in,
            ),
        )
        return Sent(event, link, token)

    return make
