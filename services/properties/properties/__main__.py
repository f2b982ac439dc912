"""`python -m properties`: run the properties service."""

from shared.green import patch

patch()

from properties.service import PropertiesService  # noqa: E402 - after the eventlet patch
from properties.settings import PropertiesSettings  # noqa: E402
from shared.runner import run_service  # noqa: E402

run_service(PropertiesService, PropertiesSettings())
