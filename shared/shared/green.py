"""Make a process ready for nameko: eventlet's monkey patch, and psycopg waiting cooperatively.

Call `patch()` first thing in a service process (before other imports) and in the conftest of
service tests.
"""

from __future__ import annotations

import warnings

_patched = False


def patch() -> None:
    global _patched
    if _patched:
        return
    import sys

    too_late = [name for name in ("sqlalchemy", "psycopg", "kombu") if name in sys.modules]
    if too_late:
        # They would keep unpatched locks and sockets and block every green thread.
        raise RuntimeError(f"shared.green.patch() must run before importing {', '.join(too_late)}")
    # eventlet warns that it is deprecated on import; nameko 2 needs it. Only that warning is hidden.
    warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()

    import psycopg.waiting

    # psycopg's default wait function blocks the whole process during a query under eventlet;
    # wait_select goes through the patched select(), so other green threads keep running.
    psycopg.waiting.wait = psycopg.waiting.wait_select  # type: ignore[assignment]
    _patched = True
