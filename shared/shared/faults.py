"""Crash points: places where the fault suite (`tests/faults/`) makes a process die on purpose.

A crash at an exact point (after a commit and before the publish, after the publish and before
the mark, ...) cannot be hit by a `kill -9` from outside, so the code names those points with
`crash_point("name")`. Unarmed, a crash point is one environment lookup and does nothing.

It is armed in one process by two environment variables:

    PORTAL_CRASH_AT=<name>          which point
    PORTAL_CRASH_MARKER=<path>      a file that must exist

The first time the process reaches the point, it deletes the marker and ends at once with
`os._exit(137)`: no cleanup, no ack, no commit, no flush, as after SIGKILL. With the marker gone,
the same process started again (by a supervisor, with the same environment) runs normally, so one
arming makes exactly one crash.
"""

from __future__ import annotations

import os

CRASH_AT = "PORTAL_CRASH_AT"
CRASH_MARKER = "PORTAL_CRASH_MARKER"
# What a shell reports for a process ended by SIGKILL (128 + 9).
CRASH_EXIT_CODE = 137

# The points the code names, for the tests and for a reader looking for them.
INVITATION_COMMITTED = "invitations.send_invitation.after_commit"
OUTBOX_PUBLISHED = "outbox.relay_batch.after_publish"
DELIVERY_QUEUED_COMMITTED = "notifications.queue.after_commit"
SENDER_OUTBOX_PUBLISHED = "sender.relay.after_publish"
SENDER_SMTP_ACCEPTED = "sender.after_smtp_250"

POINTS = (
    INVITATION_COMMITTED,
    OUTBOX_PUBLISHED,
    DELIVERY_QUEUED_COMMITTED,
    SENDER_OUTBOX_PUBLISHED,
    SENDER_SMTP_ACCEPTED,
)


def crash_point(name: str) -> None:
    """End the process here, at once, if the environment arms this point and its marker exists."""
    if os.environ.get(CRASH_AT) != name:
        return
    marker = os.environ.get(CRASH_MARKER)
    if not marker:
        return
    try:
        os.unlink(marker)  # atomic: of two threads or processes racing here, one crashes
    except FileNotFoundError:
        return
    os.write(2, f"crash point {name} reached: exiting with {CRASH_EXIT_CODE}\n".encode())
    os._exit(CRASH_EXIT_CODE)
