"""`python -m portal_gateway`: serve the gateway with uvicorn."""

import uvicorn

from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings
from shared.logs import configure_logging


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        # Our AccessLog names routes; uvicorn's would print raw paths, tokens included.
        access_log=False,
        log_config=None,
        # X-Forwarded-For is believed only from proxies named here (none by default).
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
