"""`python -m notifications`: run the notifications service (the SMTP sender is
`python -m notifications.sender`, a process of its own)."""

from shared.green import patch

patch()

from notifications.service import NotificationsService  # noqa: E402 - after the eventlet patch
from notifications.settings import NotificationsSettings  # noqa: E402
from shared.runner import run_service  # noqa: E402

run_service(NotificationsService, NotificationsSettings())
