"""Documents and maintenance photos with every service running as a process: staff upload a file
through the API, the tenant finds it on their lease page and downloads exactly those bytes; another
tenant gets "not found"; a change of audience holds on the next page load; staff ask why; and the
Report a problem form carries a photo to the request page and to staff."""

from __future__ import annotations

import hashlib
import re

import httpx

PASSWORD = "silver otters paddle home"
PDF = b"%PDF-1.7\n% invoice 1042\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17) + b"photo of a leak"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def upload(staff, data=PDF, name="Invoice 1042.pdf", content_type="application/pdf", **fields):
    return staff.api.post(
        "/documents",
        data={"kind": "invoice", "title": "Invoice 1042", **fields},
        files={"file": (name, data, content_type)},
    )


def test_staff_upload_a_document_the_tenant_downloads_and_nobody_else_sees(platform):
    staff = platform.new_organization()
    tenant, other = staff.tenant_with_lease(), staff.tenant_with_lease()
    lease_id = tenant["lease"]["id"]
    person = platform.invite_and_accept(staff, tenant, PASSWORD)
    stranger = platform.invite_and_accept(staff, other, PASSWORD)

    made = upload(staff, lease_id=lease_id)
    assert made.status_code == 201, made.text
    document = made.json()
    assert document["audiences"] == ["tenant"]
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert [d["id"] for d in staff.get(f"/leases/{lease_id}/documents")["items"]] == [document["id"]]

    page = person.get(f"/portal/leases/{lease_id}")
    assert page.status_code == 200 and "Invoice 1042" in page.text
    link = re.search(r'href="(/portal/documents/[^"]+)"', page.text)
    assert link, "no download link on the lease page"
    got = person.get(link.group(1).replace("&amp;", "&"))
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Invoice 1042.pdf"'), disposition

    # Another tenant: not on their page, and the link itself is "not found".
    assert "Invoice 1042" not in stranger.get(f"/portal/leases/{other['lease']['id']}").text
    refused = stranger.get(f"/portal/documents/{document['id']}")
    assert refused.status_code == 404 and PDF not in refused.content
    assert httpx.Client(base_url=platform.url).get(f"/portal/documents/{document['id']}").status_code == 303

    # Staff ask why, then unshare it: from the next page load the tenant no longer has it.
    why = staff.get(f"/documents/{document['id']}/visibility", contact_id=tenant["id"])
    assert why["visible"] is True and [step["rule"] for step in why["chain"]] == [
        "scope_link",
        "audience",
        "result",
    ]
    why_not = staff.get(f"/documents/{document['id']}/visibility", contact_id=other["id"])
    assert why_not["visible"] is False and why_not["chain"][0]["passed"] is False
    changed = staff.api.put(f"/documents/{document['id']}/audiences", json={"audiences": []})
    assert changed.status_code == 200 and changed.json()["audiences"] == []
    assert "Invoice 1042" not in person.get(f"/portal/leases/{lease_id}").text
    assert person.get(f"/portal/documents/{document['id']}").status_code == 404

    # Staff still download it, and can delete it.
    staff_copy = staff.api.get(f"/documents/{document['id']}/file")
    assert staff_copy.status_code == 200 and staff_copy.content == PDF
    assert staff.api.delete(f"/documents/{document['id']}").status_code == 204
    assert staff.api.get(f"/documents/{document['id']}/file").status_code == 404


def test_bad_uploads_are_refused_and_nothing_is_stored(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    lease_id = tenant["lease"]["id"]
    for data, content_type, words in (
        (b"<html><script>alert(1)</script></html>", "text/html", "not accepted"),
        (b"<html>not a pdf</html>", "application/pdf", "not PDF"),
        (b"", "application/pdf", "empty"),
    ):
        refused = upload(staff, data=data, content_type=content_type, lease_id=lease_id)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_input" and words in error["message"], error
    too_big = upload(staff, data=b"%PDF-" + bytes(5 * 1024 * 1024), lease_id=lease_id)
    assert too_big.status_code == 422 and "at most 5 MiB" in too_big.json()["error"]["message"]
    two_places = upload(staff, lease_id=lease_id, property_id=tenant["property"]["id"])
    assert two_places.status_code == 422
    assert staff.get(f"/leases/{lease_id}/documents")["items"] == []


def test_a_photo_goes_with_a_reported_problem_to_the_tenant_and_staff(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    person = platform.invite_and_accept(staff, tenant, PASSWORD)
    stranger = platform.invite_and_accept(staff, staff.tenant_with_lease(), PASSWORD)

    form = person.get("/portal/maintenance/new")
    assert 'enctype="multipart/form-data"' in form.text
    fields = {
        "csrf_token": CSRF.search(form.text).group(1),  # type: ignore[union-attr]
        "m": re.search(r'name="m" value="([^"]+)"', form.text).group(1),  # type: ignore[union-attr]
        "request_key": re.search(r'name="request_key" value="([^"]+)"', form.text).group(1),  # type: ignore[union-attr]
        "lease_id": tenant["lease"]["id"],
        "category": "plumbing",
        "priority": "high",
        "description": "Water under the sink",
    }
    # Without the CSRF token, a multipart form is refused like any other.
    forged = person.post(
        "/portal/maintenance",
        data={k: v for k, v in fields.items() if k != "csrf_token"},
        files={"photo": ("leak.png", PNG, "image/png")},
    )
    assert forged.status_code == 403
    # A PDF is no photo: the form again, saying why, and nothing made.
    wrong = person.post(
        "/portal/maintenance", data=fields, files={"photo": ("bill.pdf", PDF, "application/pdf")}
    )
    assert wrong.status_code == 422 and "not accepted" in wrong.text
    assert staff.get("/maintenance-requests")["total"] == 0

    sent = person.post("/portal/maintenance", data=fields, files={"photo": ("leak.png", PNG, "image/png")})
    assert sent.status_code == 303, sent.text
    again = person.post("/portal/maintenance", data=fields, files={"photo": ("leak.png", PNG, "image/png")})
    assert again.headers["location"] == sent.headers["location"]  # the form's key: one request
    page = person.get(sent.headers["location"])
    request_id = sent.headers["location"].split("?")[0].rsplit("/", 1)[1]
    photo = re.search(r'<img src="([^"]+)"', page.text)
    assert photo, "no photo on the request page"
    shown = person.get(photo.group(1).replace("&amp;", "&"))
    assert shown.status_code == 200 and shown.content == PNG
    assert shown.headers["content-type"] == "image/png"
    assert stranger.get(f"/portal/maintenance/{request_id}/photo").status_code == 404

    request = staff.get(f"/maintenance-requests/{request_id}")
    assert request["photo"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    staff_copy = staff.api.get(f"/maintenance-requests/{request_id}/photo")
    assert staff_copy.status_code == 200 and staff_copy.content == PNG
    assert staff.get("/maintenance-requests")["total"] == 1
