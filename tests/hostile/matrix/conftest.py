"""The world every part of the matrix asks about, and the matrix they fill: one of each for the whole
package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.testing.helpers import random_email
from tests.hostile.matrix.grid import ARTIFACTS, Matrix
from tests.hostile.matrix.world import (
    OWN_AMOUNT,
    OWN_APPLICANT,
    RIVAL_AMOUNT,
    RIVAL_APPLICANT,
    RIVAL_FEEDBACK,
    SALE_NOTE,
    STAFF_ROLES,
    Caller,
    World,
    applicants_own,
    customer_of_group,
    grant_id,
    new_defect,
    new_offer,
    new_viewing,
    submit_maintenance,
)


@pytest.fixture(scope="package")
def world(platform: Any) -> World:
    a, b = platform.new_organization("Mine "), platform.new_organization("Theirs ")
    for role, granted in STAFF_ROLES:
        platform.add_staff(a, role, granted)

    tenant = a.tenant_with_lease()
    a.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    tenant_link = platform.link_in_email(tenant["email"])
    tenant_browser = platform.accept(tenant_link)
    invitation_id = a.admin.get(f"/contacts/{tenant['id']}/invitations")["items"][0]["id"]

    landlord = a.landlord_of_property()
    landlord_browser = platform.invite_and_accept(a, landlord)

    email = random_email("both")
    both_a, both_b = a.tenant_with_lease(email), b.landlord_of_property(email)
    platform.invite_and_accept(a, both_a)
    b.admin.post(f"/contacts/{both_b['id']}/portal-invitations")
    both_browser = platform.accept(platform.link_in_email(email, count=2))

    # A vendor selling a property, two applicants linked to it (each with a viewing and an offer
    # of their own; only the first signs in), and a customer of a client group.
    vendor = a.linked_to_property("vendor")
    vendor_browser = platform.invite_and_accept(a, vendor)
    sale = vendor["property"]
    applicant = a.linked_to_property("applicant", sale)
    applicant = {**applicant, **applicants_own(a.admin, sale["id"], applicant, OWN_APPLICANT, OWN_AMOUNT[0])}
    applicant_browser = platform.invite_and_accept(a, applicant)
    rival = a.linked_to_property("applicant", sale)
    rival = {
        **rival,
        **applicants_own(a.admin, sale["id"], rival, RIVAL_APPLICANT, RIVAL_AMOUNT[0], RIVAL_FEEDBACK),
    }
    a.admin.post(
        f"/properties/{sale['id']}/progress", {"kind": "sale", "stage": "instructed", "note": SALE_NOTE}
    )
    customer = customer_of_group(a)
    customer_browser = platform.invite_and_accept(a, customer)

    uninvited = a.tenant_with_lease()
    job_target = a.tenant_with_lease()
    job = a.admin.post("/portal-invitations/bulk", {"contact_ids": [job_target["id"]]}, 202)

    def staff_caller(org_name: str, staff: Any) -> Caller:
        return Caller(
            name=f"{org_name}:{staff.label}",
            kind="staff",
            browser=platform.console(staff),
            api=staff.api,
            organization=org_name,
            role=staff.role,
            may_manage_portal_access=staff.role == "admin"
            or (staff.can_manage_portal_access and staff.role != "viewer"),
        )

    def portal_caller(name: str, browser: httpx.Client, *display_names: str) -> Caller:
        # Their browser's cookies go with every API call too: a portal session opens no staff API.
        api = httpx.Client(base_url=f"{platform.url}/api/v1", cookies=browser.cookies, timeout=30)
        return Caller(name, "portal", browser, api, display_names=display_names)

    anonymous = platform.client()
    callers = [
        Caller(
            "anonymous", "anonymous", anonymous, httpx.Client(base_url=f"{platform.url}/api/v1", timeout=30)
        ),
        portal_caller("portal:tenant", tenant_browser, tenant["display_name"]),
        portal_caller("portal:landlord", landlord_browser, landlord["display_name"]),
        portal_caller("portal:both orgs", both_browser, both_a["display_name"], both_b["display_name"]),
        portal_caller("portal:vendor", vendor_browser, vendor["display_name"]),
        portal_caller("portal:applicant", applicant_browser, applicant["display_name"]),
        portal_caller("portal:customer", customer_browser, customer["display_name"]),
        *(staff_caller("A", staff) for staff in a.staff.values()),
        staff_caller("B", b.admin),
    ]
    made = submit_maintenance(tenant_browser, tenant["lease"]["id"], "The bathroom tap drips")
    assert made.status_code == 303, made.text
    request_id = made.headers["location"].split("?")[0].rsplit("/", 1)[1]
    landlord_property_id = landlord["property"]["id"]
    return World(
        a=a,
        b=b,
        callers=callers,
        tenant=tenant,
        landlord=landlord,
        uninvited=uninvited,
        unlinked_landlord=a.contact("landlord"),
        both_a=both_a,
        both_b=both_b,
        invitation_id=invitation_id,
        job_id=job["id"],
        used_link_path=platform.path_of(tenant_link),
        grant_ids={
            "portal:tenant": grant_id(platform, tenant["id"]),
            "portal:landlord": grant_id(platform, landlord["id"]),
            "portal:both orgs": grant_id(platform, both_a["id"]),
            "portal:vendor": grant_id(platform, vendor["id"]),
            "portal:applicant": grant_id(platform, applicant["id"]),
            "portal:customer": grant_id(platform, customer["id"]),
        },
        b_property=b.property(),
        b_tenant=b.tenant_with_lease(),
        vendor=vendor,
        applicant=applicant,
        rival=rival,
        customer=customer,
        maintenance_request_id=request_id,
        viewing_id=new_viewing(a.admin, landlord_property_id),
        offer_id=new_offer(a.admin, landlord_property_id),
        defect_id=new_defect(a.admin, landlord_property_id),
    )


@pytest.fixture(scope="package")
def matrix() -> Iterator[Matrix]:
    collected = Matrix()
    yield collected
    collected.write()
    print("\n" + (ARTIFACTS / "authorization-matrix.md").read_text())
