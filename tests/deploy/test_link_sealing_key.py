"""Which processes hold the link-sealing key, and that production refuses the development one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from invitations.settings import InvitationsSettings
from notifications.settings import NotificationsSettings
from portal_gateway.settings import GatewaySettings
from properties.settings import PropertiesSettings
from shared.settings import DEV_LINK_SEALING_KEY, ServiceSettings

REAL_KEY = "bXkgb3duIGtleSBvZiAzMiBieXRlcyEhISEhISEhISE="


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
