"""The documents people read stay true to the code: the events reference, the configuration table,
the Quick start that CI runs, and the links between the documents."""

from __future__ import annotations

import re
from pathlib import Path

from contacts.settings import ContactsSettings
from devtools.events_doc import render
from invitations.settings import InvitationsSettings
from notifications.settings import NotificationsSettings
from portal_gateway.settings import GatewaySettings
from properties.settings import PropertiesSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# Read by the local runner and the test harness rather than by a settings class.
OUTSIDE_SETTINGS = {"RABBITMQ_MANAGEMENT_URL", "PORTAL_PORT", "SMTP_SINK_PORT", "MAIL_VIEWER_PORT"}


def test_the_events_reference_is_generated_from_the_contracts():
    assert (ROOT / "docs" / "events.md").read_text() == render(), (
        "run: python -m devtools.events_doc > docs/events.md"
    )


def configuration_table() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    return names


def test_the_configuration_table_lists_every_setting_and_nothing_else():
    settings = {
        name.upper()
        for cls in (
            ContactsSettings,
            InvitationsSettings,
            NotificationsSettings,
            GatewaySettings,
            PropertiesSettings,
        )
        for name in cls.model_fields
    }
    table = configuration_table()
    assert settings - table == set(), "settings missing from the README table"
    assert table - settings - OUTSIDE_SETTINGS == set(), "the README lists settings that do not exist"


def test_the_quick_start_has_two_commands_and_ci_runs_the_second():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make up", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as
    hyphens."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"^#{1,6} (.*)", line)
        if heading:
            words = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            anchors.add(words.replace(" ", "-"))
    return anchors


def test_every_link_between_the_documents_reaches_a_file_and_a_heading():
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            linked = doc.parent / path if path else doc
            if not linked.exists():
                broken.append(f"{doc.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked.read_text()):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert broken == []
