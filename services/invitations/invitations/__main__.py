"""`python -m invitations`: run the invitations service."""

from shared.green import patch

patch()

from invitations.service import InvitationsService  # noqa: E402 - after the eventlet patch
from invitations.settings import InvitationsSettings  # noqa: E402
from shared.runner import run_service  # noqa: E402

run_service(InvitationsService, InvitationsSettings())
