"""The `health` RPC every service answers: the service is up and reaches its database.
The nameko side is `shared.providers.HealthCheck`."""

from __future__ import annotations

from shared.contracts.common import Request, RpcMethod, View


class Health(View):
    service: str
    database: bool


def health_method(service: str) -> RpcMethod[Request, Health]:
    return RpcMethod(service, "health", Request, Health)
