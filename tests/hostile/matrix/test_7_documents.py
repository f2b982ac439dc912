"""Documents and maintenance photos, on the staff API and the portal."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.hostile.matrix.grid import Matrix, described
from tests.hostile.matrix.operations import Operation, allowed
from tests.hostile.matrix.world import Caller, World, fresh_tenant, new_group

DOCUMENT_PDF = b"%PDF-1.7\n% matrix\n%%EOF\n"
PHOTO_PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


def _document(staff: Any, title: str, **scope: str) -> str:
    """A document `staff` uploads (through the API, multipart) on a lease, property or client group."""
    made = staff.api.post(
        "/documents",
        data={"kind": "quote" if "property_id" in scope else "invoice", "title": title, **scope},
        files={"file": ("matrix.pdf", DOCUMENT_PDF, "application/pdf")},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _report_with_photo(browser: httpx.Client, lease_id: str, csrf: bool = True) -> httpx.Response:
    form = browser.get("/portal/maintenance/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    grant = re.search(r'name="m" value="([^"]+)"', form.text)
    data = {
        "m": grant.group(1) if grant else "",
        "lease_id": lease_id,
        "category": "plumbing",
        "description": "Photo of the leak attached",
    }
    if csrf:
        data["csrf_token"] = token.group(1) if token else ""
    return browser.post(
        "/portal/maintenance", data=data, files={"photo": ("leak.png", PHOTO_PNG, "image/png")}
    )


def test_documents_and_photos(platform: Any, world: World, matrix: Matrix) -> None:
    """Staff API: A's staff read A's documents, editors upload, share and delete (viewers 403), B's
    admin finds none of A's (404). Portal: a document or photo opens only for the person it is
    shared with (404 for anyone else, sign in first for no one); View As may read them."""
    admin = world.a.admin
    tenant_lease = world.tenant["lease"]["id"]
    landlord_property = world.landlord["property"]["id"]
    group_id = new_group(admin)["id"]
    tenant_doc = _document(admin, "Matrix tenant invoice", lease_id=tenant_lease)
    landlord_doc = _document(admin, "Matrix landlord quote", property_id=landlord_property)
    _document(admin, "Matrix group statement", client_group_id=group_id)
    # On the vendor's property, one document for its vendor and one for its applicants; one for the
    # customers of the customer's client group (a group's default audience).
    sale = world.vendor["property"]["id"]
    vendor_doc = _document(admin, "Matrix vendor report", property_id=sale, audiences="vendor")
    applicant_doc = _document(admin, "Matrix applicant brochure", property_id=sale, audiences="applicant")
    customer_doc = _document(
        admin, "Matrix customer statement", client_group_id=world.customer["group"]["id"]
    )
    tenant_browser = next(c for c in world.callers if c.name == "portal:tenant").browser
    reported = _report_with_photo(tenant_browser, tenant_lease)
    assert reported.status_code == 303, reported.text
    photo_request = reported.headers["location"].split("?")[0].rsplit("/", 1)[1]

    def documents_state() -> Any:
        return (
            admin.get(f"/leases/{tenant_lease}/documents"),
            admin.get(f"/properties/{landlord_property}/documents"),
            admin.get(f"/maintenance-requests/{photo_request}"),
            admin.get(f"/properties/{sale}/documents"),
            admin.get(f"/client-groups/{world.customer['group']['id']}/documents"),
        )

    before = documents_state()

    def fresh_doc(w: World) -> str:
        return _document(admin, "Fresh", lease_id=fresh_tenant(w)["lease"]["id"])

    operations = [
        Operation(
            "POST /documents (multipart)",
            "edit",
            lambda w, c, f: ("POST", "/documents", (fresh_tenant(w) if f else w.tenant)["lease"]["id"]),
            201,
        ),
        Operation(
            "GET /leases/{id}/documents",
            "read",
            lambda w, c, f: ("GET", f"/leases/{tenant_lease}/documents", None),
        ),
        Operation(
            "GET /properties/{id}/documents",
            "read",
            lambda w, c, f: ("GET", f"/properties/{landlord_property}/documents", None),
        ),
        Operation(
            "GET /client-groups/{id}/documents",
            "read",
            lambda w, c, f: ("GET", f"/client-groups/{group_id}/documents", None),
        ),
        Operation(
            "GET /documents/{id}/file", "read", lambda w, c, f: ("GET", f"/documents/{tenant_doc}/file", None)
        ),
        Operation(
            "PUT /documents/{id}/audiences",
            "edit",
            lambda w, c, f: (
                "PUT",
                f"/documents/{fresh_doc(w) if f else tenant_doc}/audiences",
                {"audiences": ["tenant"]},
            ),
        ),
        Operation(
            "DELETE /documents/{id}",
            "edit",
            lambda w, c, f: ("DELETE", f"/documents/{fresh_doc(w) if f else tenant_doc}", None),
            204,
        ),
        Operation(
            "GET /documents/{id}/visibility?contact_id=",
            "read",
            lambda w, c, f: ("GET", f"/documents/{tenant_doc}/visibility?contact_id={w.tenant['id']}", None),
        ),
        Operation(
            "GET /maintenance-requests/{id}/photo",
            "read",
            lambda w, c, f: ("GET", f"/maintenance-requests/{photo_request}/photo", None),
        ),
    ]

    def send(caller: Caller, operation: Operation, fresh: bool) -> httpx.Response:
        method, path, body = operation.build(world, caller, fresh)
        if path == "/documents":  # the upload: `body` is the lease to file on
            return caller.api.post(
                path,
                data={"kind": "invoice", "title": "Matrix upload", "lease_id": body},
                files={"file": ("m.pdf", DOCUMENT_PDF, "application/pdf")},
            )
        return caller.api.request(method, path, json=body)

    secrets = (
        "Matrix tenant invoice",
        "Matrix landlord quote",
        "Matrix group statement",
        "Matrix vendor report",
        "Matrix applicant brochure",
        "Matrix customer statement",
        tenant_doc,
    )
    for operation in operations:
        for caller in world.callers:
            if caller.kind != "staff":
                response = send(caller, operation, False)
                expected, ok = "401", response.status_code == 401
            elif caller.organization == "B":
                response = send(caller, operation, False)
                leaked = any(s in response.text for s in secrets) or DOCUMENT_PDF in response.content
                if operation.foreign == "own":
                    expected, ok = "200; none of A's", response.status_code == 200 and not leaked
                else:
                    expected, ok = "404", response.status_code == 404 and not leaked
            else:
                may = allowed(operation, caller)
                response = send(caller, operation, may)
                expected = str(operation.success if may else 403)
                ok = str(response.status_code) == expected
            matrix.add("Documents", operation.label, caller.name, expected, str(response.status_code), ok)

    for caller in world.callers:
        browser, portal_user = caller.browser, caller.kind == "portal"

        def row(
            endpoint: str,
            expected: str,
            response: httpx.Response,
            ok: bool | None = None,
            who: str = caller.name,
        ) -> None:
            got = described(response)
            matrix.add("Documents", endpoint, who, expected, got, got == expected if ok is None else ok)

        for label, path, owner, content in (
            (
                "GET /portal/documents/{A tenant's}",
                f"/portal/documents/{tenant_doc}",
                "portal:tenant",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/documents/{A landlord's}",
                f"/portal/documents/{landlord_doc}",
                "portal:landlord",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/maintenance/{A tenant's}/photo",
                f"/portal/maintenance/{photo_request}/photo",
                "portal:tenant",
                PHOTO_PNG,
            ),
            (
                "GET /portal/documents/{A vendor's}",
                f"/portal/documents/{vendor_doc}",
                "portal:vendor",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/documents/{A's applicants'}",
                f"/portal/documents/{applicant_doc}",
                "portal:applicant",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/documents/{A customer's group's}",
                f"/portal/documents/{customer_doc}",
                "portal:customer",
                DOCUMENT_PDF,
            ),
        ):
            got = browser.get(path)
            if caller.name == owner:
                ok = got.status_code == 200 and got.content == content
                row(label, "200; the bytes", got, ok)
            elif portal_user:
                row(label, "404", got, got.status_code == 404 and content not in got.content)
            else:
                row(label, "303 → /login", got)
        if caller.name == "portal:tenant":
            page = browser.get(f"/portal/leases/{tenant_lease}")
            row(
                "GET /portal/leases/{A tenant's} lists it",
                "200; listed",
                page,
                "Matrix tenant invoice" in page.text,
            )
        if caller.name == "portal:landlord":
            page = browser.get(f"/portal/properties/{landlord_property}")
            ok = "Matrix landlord quote" in page.text and "Matrix tenant invoice" not in page.text
            row("GET /portal/properties/{A landlord's} lists it", "200; only theirs", page, ok)
        if caller.name in ("portal:vendor", "portal:applicant"):
            page = browser.get(f"/portal/properties/{sale}")
            mine, theirs = ("Matrix vendor report", "Matrix applicant brochure")
            if caller.name == "portal:applicant":
                mine, theirs = theirs, mine
            ok = page.status_code == 200 and mine in page.text
            ok = ok and not any(x in page.text for x in (theirs, "Matrix landlord quote"))
            row("GET /portal/properties/{A vendor's} lists it", "200; only theirs", page, ok)
        if caller.name == "portal:customer":
            page = browser.get("/portal/customer")
            ok = page.status_code == 200 and "Matrix customer statement" in page.text
            ok = ok and "Matrix group statement" not in page.text
            row("GET /portal/customer lists it", "200; only their group's", page, ok)
        row(
            "POST /portal/maintenance with a photo, without CSRF",
            "403",
            _report_with_photo(browser, tenant_lease, csrf=False),
        )
        if caller.kind == "staff" and caller.organization == "A":
            token = platform.csrf(browser.get("/console/contacts"))
            browser.post(f"/console/contacts/{world.tenant['id']}/view-as", data={"csrf_token": token})
            got = browser.get(f"/portal/documents/{tenant_doc}")
            row(
                "GET /portal/documents/{A tenant's} while viewing as", "200", got, got.content == DOCUMENT_PDF
            )
            browser.post("/console/view-as/end", data={"csrf_token": token})
    assert documents_state() == before, "a refused call changed A's documents"
    assert matrix.failures("Documents") == []
