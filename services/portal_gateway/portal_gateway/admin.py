"""`python -m portal_gateway.admin create-organization`: a new organization with its first admin.

Prints how the admin signs in to the staff console and the API token for the staff API. The
password and token are shown once, here, and stored nowhere readable.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

from portal_gateway.settings import GatewaySettings
from shared.contracts import contacts as c
from shared.contracts.errors import InvalidInput, PasswordRejected, ServiceError
from shared.contracts.validation import parse
from shared.rpc_client import RpcClient


async def create_organization(
    settings: GatewaySettings, name: str, admin_email: str, admin_name: str, admin_password: str
) -> c.OrganizationCreated:
    rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout_seconds, name="admin-cli")
    await rpc.start()
    try:
        command = parse(
            c.CreateOrganization,
            {
                "name": name,
                "admin_email": admin_email,
                "admin_name": admin_name,
                "admin_password": admin_password,
            },
        )
        return await rpc.call(c.CREATE_ORGANIZATION, command)
    finally:
        await rpc.close()


def sign_in_instructions(settings: GatewaySettings, created: c.OrganizationCreated, password: str) -> str:
    base = str(settings.public_base_url).rstrip("/")
    return "\n".join(
        [
            f"Organization {created.organization.name!r} created ({created.organization.id}).",
            "",
            f"  Staff console   {base}/console/login",
            f"  Sign in as      {created.admin.email}",
            f"  Password        {password}",
            f"  API token       {created.api_token}",
            f"  API docs        {base}/docs   (send: Authorization: Bearer <API token>)",
            "",
            "The password and the token are shown only now; keep them somewhere safe.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal_gateway.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-organization", help="create an organization and its first admin")
    create.add_argument("--name", required=True, help="the organization's name")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-name", required=True)
    create.add_argument(
        "--admin-password", help="at least 12 characters; a strong one is generated if omitted"
    )
    args = parser.parse_args(argv)

    settings = GatewaySettings()
    password = args.admin_password or secrets.token_urlsafe(12)
    try:
        created = asyncio.run(
            create_organization(settings, args.name, args.admin_email, args.admin_name, password)
        )
    except (InvalidInput, PasswordRejected) as exc:
        problems = exc.details.get("errors") or []
        detail = "; ".join(p if isinstance(p, str) else f"{p['field']}: {p['message']}" for p in problems)
        print(f"Not created: {exc.message}{' (' + detail + ')' if detail else ''}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"Not created: {exc.message}. Is the platform running (make up)?", file=sys.stderr)
        return 1
    print(sign_in_instructions(settings, created, password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
