"""A demo organization for a local run: an admin, a property with a unit, a tenant with an active
lease (three months charged, two paid) and a landlord, made through the real staff API. The
credentials are kept in var/demo.json and shown again on the next run; without that file (a new
clone on the same database, say), a new demo organization with new addresses is made, since the
old password cannot be shown again."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx

from portal_gateway.admin import create_organization
from portal_gateway.settings import GatewaySettings

HTTP_TIMEOUT_SECONDS = 15


@dataclass
class Demo:
    organization: str
    admin_email: str
    admin_password: str
    api_token: str
    tenant_id: str
    tenant_email: str
    landlord_email: str


def seed(gateway_url: str, settings: GatewaySettings, state_file: Path) -> Demo:
    if state_file.exists():
        demo = Demo(**json.loads(state_file.read_text()))
        response = httpx.get(
            f"{gateway_url}/api/v1/me",
            headers={"Authorization": f"Bearer {demo.api_token}"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        if response.status_code == 200:
            return demo
        raise RuntimeError(
            f"{state_file} does not match this database (the API token is refused). "
            "Delete it, or run `make reset` to start from an empty database."
        )
    password = secrets.token_urlsafe(12)
    # Unique addresses: a database may already hold the demo of another clone.
    tag = secrets.token_hex(3)
    created = asyncio.run(
        create_organization(settings, "Demo Lettings", f"admin.{tag}@demo.example", "Ada Admin", password)
    )
    api = httpx.Client(
        base_url=f"{gateway_url}/api/v1",
        headers={"Authorization": f"Bearer {created.api_token}"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        response = api.post(path, json=body)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    tenant = post(
        "/contacts",
        {
            "type": "tenant",
            "first_name": "Tess",
            "last_name": "Tenant",
            "email": f"tess.tenant.{tag}@demo.example",
            "phone": "020 7946 0958",
        },
    )
    landlord = post(
        "/contacts",
        {
            "type": "landlord",
            "first_name": "Lars",
            "last_name": "Landlord",
            "email": f"lars.landlord.{tag}@demo.example",
        },
    )
    prop = post(
        "/properties",
        {"name": "Maple Court", "address_line1": "12 Maple Road", "city": "London", "postcode": "N1 7AA"},
    )
    unit = post(f"/properties/{prop['id']}/units", {"name": "Flat 2"})
    lease = post(
        "/leases",
        {
            "unit_id": unit["id"],
            "start_date": (date.today() - timedelta(days=90)).isoformat(),
            "tenant_contact_ids": [tenant["id"]],
        },
    )
    # Three months' rent, two of them paid: the portal shows a balance, one month overdue.
    for months_ago in (3, 2, 1):
        due = date.today() - timedelta(days=30 * months_ago)
        rent = {"description": f"Rent for {due:%B %Y}", "amount_minor": 125_000, "due_date": due.isoformat()}
        post(f"/leases/{lease['id']}/charges", rent)
    for months_ago in (3, 2):
        paid_on = (date.today() - timedelta(days=30 * months_ago - 1)).isoformat()
        post(
            f"/leases/{lease['id']}/payments",
            {"amount_minor": 125_000, "paid_on": paid_on, "reference": "BACS"},
        )
    post(f"/properties/{prop['id']}/contacts", {"contact_id": landlord["id"], "role": "landlord"})
    demo = Demo(
        organization=created.organization.name,
        admin_email=created.admin.email,
        admin_password=password,
        api_token=created.api_token,
        tenant_id=str(tenant["id"]),
        tenant_email=str(tenant["email"]),
        landlord_email=str(landlord["email"]),
    )
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(asdict(demo), indent=2))
    state_file.chmod(0o600)
    return demo
