"""`python -m contacts`: run the contacts service."""

from shared.green import patch

patch()

from contacts.service import ContactsService  # noqa: E402 - after the eventlet patch
from contacts.settings import ContactsSettings  # noqa: E402
from shared.runner import run_service  # noqa: E402

run_service(ContactsService, ContactsSettings())
