"""`python -m bench.echo_service`: a benchmark-only nameko service with one trivial RPC method.

It runs like the platform's services (`shared.green.patch()`, `shared.runner.run_service`, the same
worker count from `MAX_WORKERS`), so an RPC round trip to it costs the broker, the client and
nameko's own dispatch, and nothing else.
"""

from shared.green import patch

patch()

from typing import Any  # noqa: E402 - after the eventlet patch

from nameko.rpc import rpc  # noqa: E402

from shared.runner import run_service  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402

SERVICE = "bench_echo"


class EchoService:
    """Owns nothing: answers with what it was sent."""

    name = SERVICE

    @rpc
    def echo(self, payload: Any) -> Any:
        return payload


if __name__ == "__main__":
    run_service(EchoService, ServiceSettings())
