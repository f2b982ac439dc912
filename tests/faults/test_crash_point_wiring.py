"""The crash points themselves (no platform): one arming makes exactly one crash, an unarmed
point does nothing, and every named point is still wired into the code it names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared import faults

ROOT = Path(__file__).resolve().parents[2]
WIRED = {
    faults.INVITATION_COMMITTED: ["services/invitations/invitations/issuing.py"],
    faults.OUTBOX_PUBLISHED: ["shared/shared/outbox.py"],
    faults.DELIVERY_QUEUED_COMMITTED: ["services/notifications/notifications/handlers.py"],
    faults.SENDER_OUTBOX_PUBLISHED: ["services/notifications/notifications/sender/relay.py"],
    faults.SENDER_SMTP_ACCEPTED: ["services/notifications/notifications/sender/app.py"],
}
CONSTANTS = {
    value: name for name, value in vars(faults).items() if isinstance(value, str) and value in faults.POINTS
}


def run_point(point: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = f"from shared.faults import crash_point; crash_point({point!r}); print('went on')"
    return subprocess.run(
        [sys.executable, "-c", script],
        env={k: v for k, v in os.environ.items() if not k.startswith("PORTAL_CRASH")} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_armed_point_exits_137_once_and_removes_its_marker(tmp_path):
    marker = tmp_path / "armed"
    marker.touch()
    env = {faults.CRASH_AT: faults.OUTBOX_PUBLISHED, faults.CRASH_MARKER: str(marker)}
    crashed = run_point(faults.OUTBOX_PUBLISHED, env)
    assert crashed.returncode == faults.CRASH_EXIT_CODE
    assert "went on" not in crashed.stdout
    assert not marker.exists()
    # Started again with the same environment: the marker is gone, so it runs normally.
    again = run_point(faults.OUTBOX_PUBLISHED, env)
    assert again.returncode == 0 and "went on" in again.stdout


@pytest.mark.parametrize(
    "env",
    [
        {},
        {faults.CRASH_AT: faults.SENDER_SMTP_ACCEPTED},
        {faults.CRASH_AT: faults.OUTBOX_PUBLISHED, faults.CRASH_MARKER: "/nonexistent/marker"},
    ],
    ids=["unarmed", "no-marker-variable", "marker-missing"],
)
def test_a_point_not_armed_with_an_existing_marker_does_nothing(env):
    result = run_point(faults.OUTBOX_PUBLISHED, env)
    assert result.returncode == 0 and "went on" in result.stdout


def test_another_point_armed_does_nothing(tmp_path):
    marker = tmp_path / "armed"
    marker.touch()
    result = run_point(
        faults.OUTBOX_PUBLISHED,
        {faults.CRASH_AT: faults.SENDER_SMTP_ACCEPTED, faults.CRASH_MARKER: str(marker)},
    )
    assert result.returncode == 0 and marker.exists()


@pytest.mark.parametrize("point", faults.POINTS)
def test_every_point_is_wired_where_it_says(point):
    call = f"faults.crash_point(faults.{CONSTANTS[point]})"
    for path in WIRED[point]:
        assert call in (ROOT / path).read_text(), f"{call} is missing from {path}"
