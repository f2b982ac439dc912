"""`python -m portal_gateway.admin create-organization`: a new organization with its first admin.

Prints how the admin signs in to the staff console. Nothing secret goes on the command line, where
shell history and the process list keep it: a password of your own comes on standard input
(`--password-stdin`), else a strong one is generated and shown once. The admin's API token is shown
only when asked (`--show-api-token`); both are stored nowhere readable.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from typing import TextIO

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


def sign_in_instructions(
    settings: GatewaySettings,
    created: c.OrganizationCreated,
    generated_password: str | None,
    show_api_token: bool,
) -> str:
    """What the admin needs to sign in: the password only if it was generated here (a password
    they chose is never echoed), the API token only if they asked for it."""
    base = str(settings.public_base_url).rstrip("/")
    lines = [
        f"Organization {created.organization.name!r} created ({created.organization.id}).",
        "",
        f"  Staff console   {base}/console/login",
        f"  Sign in as      {created.admin.email}",
    ]
    if generated_password is not None:
        lines.append(f"  Password        {generated_password}")
    if show_api_token:
        lines += [
            f"  API token       {created.api_token}",
            f"  API docs        {base}/docs   (send: Authorization: Bearer <API token>)",
        ]
    lines.append("")
    if generated_password is not None or show_api_token:
        lines.append("What is shown above is shown only now; keep it somewhere safe.")
    if not show_api_token:
        lines.append("The admin's API token was not shown (--show-api-token shows it).")
    return "\n".join(lines)


def read_password(stream: TextIO) -> str:
    """The first line of `stream`, without its line end."""
    return stream.readline().rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal_gateway.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-organization", help="create an organization and its first admin")
    create.add_argument("--name", required=True, help="the organization's name")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-name", required=True)
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the admin's password (at least 12 characters) from standard input; "
        "a strong one is generated and shown if omitted",
    )
    create.add_argument(
        "--show-api-token", action="store_true", help="print the admin's API token for the staff API"
    )
    args = parser.parse_args(argv)

    settings = GatewaySettings()
    generated = None if args.password_stdin else secrets.token_urlsafe(12)
    password = read_password(sys.stdin) if generated is None else generated
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
    print(sign_in_instructions(settings, created, generated, args.show_api_token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
