"""The harness's check that no secret reached a process log."""

from pathlib import Path

from devtools.isolated import secrets_in_logs


def test_a_secret_in_any_process_log_is_named_by_its_log_and_first_characters(tmp_path: Path) -> None:
    (tmp_path / "gateway.log").write_text("GET /invite/[REDACTED] 200\n")
    (tmp_path / "sender.log").write_text("opened https://portal.example/invite/abcdefghijklmnop\n")
    (tmp_path / "notes.txt").write_text("abcdefghijklmnop\n")  # not a process log

    assert secrets_in_logs(tmp_path, {"abcdefghijklmnop", "never-written-token"}) == [
        ("sender.log", "abcdef…")
    ]
