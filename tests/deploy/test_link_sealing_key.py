"""Which processes hold the link-sealing key, and that production refuses the development one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from invitations.settings import InvitationsSettings
from notifications.settings import NotificationsSettings
from portal_gateway.settings import GatewaySettings
from properties.settings import PropertiesSettings
from shared.sealing import LinkSealer, SealError
from shared.settings import DEV_LINK_SEALING_KEY, ServiceSettings

REAL_KEY = "bXkgb3duIGtleSBvZiAzMiBieXRlcyEhISEhISEhISE="
OLD_KEY = "dGhlIGtleSBiZWZvcmUsIDMyIGJ5dGVzIGxvbmchISE="
LINK = "https://portal.example.com/invite/abc"


@pytest.mark.parametrize("settings_class", [InvitationsSettings, NotificationsSettings])
def test_a_process_that_seals_or_opens_links_refuses_the_development_key_in_production(
    settings_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("LINK_SEALING_KEY", raising=False)
    with pytest.raises(ValidationError, match="LINK_SEALING_KEY must be set outside development"):
        settings_class()
    monkeypatch.setenv("LINK_SEALING_KEY", REAL_KEY)
    assert settings_class().link_sealing_key == REAL_KEY


@pytest.mark.parametrize("settings_class", [GatewaySettings, ServiceSettings, PropertiesSettings])
def test_no_other_process_holds_the_key_even_when_its_environment_has_one(
    settings_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("COOKIE_SECURE", "true")  # the gateway's own production rule
    monkeypatch.setenv("LINK_SEALING_KEY", REAL_KEY)
    settings = settings_class()
    assert not hasattr(settings, "link_sealing_key")
    assert REAL_KEY not in repr(settings.model_dump()) and DEV_LINK_SEALING_KEY not in repr(
        settings.model_dump()
    )


@pytest.mark.parametrize("settings_class", [InvitationsSettings, NotificationsSettings])
def test_production_refuses_the_development_key_among_the_old_keys_too(
    settings_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("LINK_SEALING_KEY", REAL_KEY)
    monkeypatch.setenv("LINK_SEALING_OLD_KEYS", f"{OLD_KEY},{DEV_LINK_SEALING_KEY}")
    with pytest.raises(ValidationError, match="LINK_SEALING_OLD_KEYS must not hold the development key"):
        settings_class()
    monkeypatch.setenv("LINK_SEALING_OLD_KEYS", f" {OLD_KEY} ,")
    assert settings_class().link_sealing_old_keys == (OLD_KEY,)


def test_the_key_seals_and_the_old_keys_only_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rotation: LINK_SEALING_KEY seals; a link sealed with an old key still opens until that key
    is removed from LINK_SEALING_OLD_KEYS."""
    monkeypatch.setenv("LINK_SEALING_KEY", REAL_KEY)
    monkeypatch.setenv("LINK_SEALING_OLD_KEYS", OLD_KEY)
    rotated = NotificationsSettings()
    sealed_before = sealed_by(LinkSealer([OLD_KEY]))
    assert rotated.link_sealer.open(sealed_before).link == LINK
    assert LinkSealer([REAL_KEY]).open(sealed_by(rotated.link_sealer)).link == LINK  # the new key sealed it

    monkeypatch.delenv("LINK_SEALING_OLD_KEYS")  # the old key retired
    with pytest.raises(SealError):
        NotificationsSettings().link_sealer.open(sealed_before)


def sealed_by(sealer: LinkSealer) -> str:
    return sealer.seal(
        LINK,
        recipient="tess@example.com",
        purpose="invitation",
        subject=uuid.UUID(int=1),
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
