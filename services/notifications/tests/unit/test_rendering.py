import email
import email.policy
import shutil
import uuid
from datetime import UTC, datetime

import pytest

from notifications import rendering
from notifications.rendering import Templates, build_message, template_values

LINK = "https://portal.example.com/invite/Tok3n_value-with&amp?x=1&y=2"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def context(**overrides):
    return {
        "recipient_name": "Tess <Tenant>",
        "organization_name": "Acme & Sons",
        "expires_at": "2026-11-28T10:00:00+00:00",
        "valid_minutes": 7 * 24 * 60,
        "is_resend": False,
        "sealed_link": "never shown",
        **overrides,
    }


def test_the_invitation_says_who_invites_with_a_button_the_plain_link_and_the_expiry():
    email_ = Templates().render("invitation", "en-GB", template_values(context(), LINK))

    assert email_.subject == "Acme & Sons invites you to its portal"
    assert "Hello Tess <Tenant>," in email_.text
    assert LINK in email_.text
    assert "Create your portal account" in email_.text
    assert "Saturday 28 November 2026 at 10:00 UTC" in email_.text
    # HTML: autoescaped, the link in the button and shown in full
    assert "Hello Tess &lt;Tenant&gt;," in email_.html
    assert "Acme &amp; Sons" in email_.html
    escaped = LINK.replace("&", "&amp;")
    assert f'<a href="{escaped}"' in email_.html
    assert email_.html.count(escaped) == 3
    assert ">Create your portal account</a>" in email_.html
    assert "never shown" not in email_.text + email_.html


def test_a_resent_invitation_says_the_old_link_no_longer_works():
    email_ = Templates().render("invitation", "en", template_values(context(is_resend=True), LINK))
    assert email_.subject == "Your new invitation to the Acme & Sons portal"
    assert "no longer works" in email_.text
    assert "no longer works" in email_.html


def test_the_password_reset_email_is_valid_one_hour_and_says_to_ignore_it_if_unasked():
    values = template_values(context(organization_name=None, valid_minutes=60), LINK)
    email_ = Templates().render("password_reset", "en", values)
    assert email_.subject == "Choose a new password for your portal account"
    assert "Choose a new password" in email_.html
    assert "1 hour" in email_.text
    assert "If you did not ask for this, ignore this email" in email_.text
    assert LINK in email_.text


def test_a_locale_folder_is_used_when_present_and_english_otherwise(tmp_path):
    shutil.copytree(rendering.TEMPLATES_DIR / "en", tmp_path / "en")
    (tmp_path / "de").mkdir()
    for name in ("invitation.txt", "invitation.html"):
        shutil.copy(rendering.TEMPLATES_DIR / "en" / name, tmp_path / "de" / name)
    (tmp_path / "de" / "invitation.subject.txt").write_text("Einladung von {{ organization_name }}\n")
    templates = Templates(tmp_path)
    values = template_values(context(), LINK)

    assert templates.render("invitation", "de-AT", values).subject == "Einladung von Acme & Sons"
    assert templates.render("invitation", "fr", values).subject == "Acme & Sons invites you to its portal"


def test_an_unknown_purpose_is_refused():
    with pytest.raises(ValueError):
        Templates().render("newsletter", "en", template_values(context(), LINK))


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(60, "1 hour"), (120, "2 hours"), (30, "30 minutes"), (90, "90 minutes"), (10080, "7 days")],
)
def test_readable_duration(minutes, text):
    assert rendering.readable_duration(minutes) == text


def test_the_message_has_text_and_html_a_stable_message_id_and_the_sender():
    delivery_id = uuid.uuid4()
    rendered = Templates().render("invitation", "en", template_values(context(), LINK))
    message = build_message(
        delivery_id=delivery_id,
        recipient="tess@example.com",
        recipient_name="Tëss Tenant",
        email=rendered,
        mail_from="Portal <no-reply@portal.localhost>",
        mail_domain="portal.localhost",
        now=NOW,
    )
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{delivery_id}@portal.localhost>"
    assert parsed["From"] == "Portal <no-reply@portal.localhost>"
    assert parsed["To"].addresses[0].addr_spec == "tess@example.com"
    assert parsed["To"].addresses[0].display_name == "Tëss Tenant"
    assert parsed["Subject"] == "Acme & Sons invites you to its portal"
    assert LINK in parsed.get_body(("plain",)).get_content()
    assert LINK.replace("&", "&amp;") in parsed.get_body(("html",)).get_content()


def test_any_text_comes_back_whole_from_the_bytes_and_no_header_can_be_smuggled_in():
    long_line = "word " * 40
    rendered = rendering.RenderedEmail(
        subject="Réglez votre accès au portail de la société Dupont & Fils, avant la fin du mois prochain",
        text=f"Bonjour Zoë,\n\n{long_line}\n.a line that starts with a dot\n日本語のテキスト\n",
        html=f"<p>Bonjour Zoë</p>\n<p>{long_line}</p>\n",
    )
    message = build_message(
        delivery_id=uuid.uuid4(),
        recipient="zoe@example.com",
        recipient_name="Zoë\r\nBcc: victim@example.com",
        email=rendered,
        mail_from="Dupont & Fils <no-reply@portal.localhost>",
        mail_domain="portal.localhost",
        now=NOW,
    )
    assert all(len(line) <= 998 for line in message.split(b"\r\n"))
    assert b"\n" not in message.replace(b"\r\n", b"")  # every line ends CRLF
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert parsed["Subject"] == rendered.subject
    assert parsed["From"].addresses[0].display_name == "Dupont & Fils"
    assert parsed["To"].addresses[0].display_name == "Zoë Bcc: victim@example.com"
    assert parsed["Bcc"] is None
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
