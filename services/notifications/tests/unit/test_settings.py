import pytest
from pydantic import ValidationError

from notifications.settings import NotificationsSettings


def test_defaults_suit_a_local_sink():
    settings = NotificationsSettings()
    assert (settings.smtp_host, settings.smtp_port) == ("localhost", 1025)
    assert (settings.smtp_starttls, settings.smtp_use_tls) == (False, False)
    assert settings.mail_from == "Portal <no-reply@portal.localhost>"
    assert (settings.mail_from_address, settings.mail_domain) == (
        "no-reply@portal.localhost",
        "portal.localhost",
    )
    assert (settings.sender_concurrency, settings.max_attempts) == (4, 8)
    assert (settings.retry_base_seconds, settings.retry_cap_seconds) == (5, 900)


def test_settings_come_from_upper_case_environment_variables(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SMTP_PORT", "587")
    monkeypatch.setenv("SMTP_STARTTLS", "true")
    monkeypatch.setenv("SMTP_USERNAME", "mailer")
    monkeypatch.setenv("SMTP_PASSWORD", "0123-not-a-number")
    monkeypatch.setenv("SENDER_CONCURRENCY", "16")
    settings = NotificationsSettings()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("smtp.example.com", 587, True)
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "0123-not-a-number"
    assert "0123-not-a-number" not in repr(settings)
    assert settings.sender_concurrency == 16


@pytest.mark.parametrize(
    "fields",
    [
        {"smtp_starttls": True, "smtp_use_tls": True},
        {"smtp_username": "mailer"},
        {"retry_base_seconds": 10, "retry_cap_seconds": 5},
        {"claim_lease_seconds": 30, "smtp_timeout_seconds": 30},
        {"mail_from": "not an address"},
        {"sender_concurrency": 0},
    ],
)
def test_inconsistent_settings_are_refused_at_start(fields):
    with pytest.raises(ValidationError):
        NotificationsSettings(**fields)
