"""Relet's tenant portal with every service running as a process: staff charge a lease and record a
payment through the API, and the tenant, signed in from their invitation, sees the balance on their
dashboard and the statement on the lease page; nobody else sees either."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

PASSWORD = "amber kettles hum quietly"
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def heading(response: httpx.Response) -> str:
    match = H1.search(response.text)
    return match.group(1).strip() if match else ""


def text_of(response: httpx.Response) -> str:
    """The page's text with tags dropped and spaces collapsed, as a person reads it."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.text).split())


def test_staff_charges_and_a_payment_show_as_the_tenants_balance_and_statement(platform):
    today = datetime.now(UTC).date()
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    lease_id = tenant["lease"]["id"]
    person = platform.invite_and_accept(staff, tenant, PASSWORD)

    rent = staff.post(
        f"/leases/{lease_id}/charges",
        {"description": "October rent", "amount_minor": 95_000, "due_date": str(today - timedelta(days=30))},
    )
    staff.post(
        f"/leases/{lease_id}/charges",
        {
            "description": "Boiler call-out",
            "amount_minor": 12_550,
            "due_date": str(today + timedelta(days=7)),
        },
    )
    payment = staff.post(
        f"/leases/{lease_id}/payments",
        {"amount_minor": 50_000, "paid_on": str(today - timedelta(days=3)), "reference": "BACS 7781"},
    )
    assert (rent["amount_minor"], rent["lease_id"]) == (95_000, lease_id)
    assert payment["reference"] == "BACS 7781"

    statement = staff.get(f"/leases/{lease_id}/statement")
    assert (statement["balance_due_minor"], statement["overdue_minor"]) == (57_550, 45_000)
    assert [line["running_balance_minor"] for line in statement["lines"]] == [95_000, 45_000, 57_550]

    home = person.get("/portal")
    assert home.status_code == 200
    shown = text_of(home)
    assert "Balance £575.50" in shown
    assert "£450.00 overdue" in shown
    link = re.search(r'href="(/portal/leases/' + lease_id + r'\?m=[0-9a-f-]+)"', home.text)
    assert link, "the dashboard links to the lease page"

    page = person.get(link.group(1))
    assert page.status_code == 200
    assert heading(page) == f"Flat 2, {tenant['property']['name']}"
    shown = text_of(page)
    for expected in (
        "12 Maple Road, London, N1 7AA",
        "1 January 2026",
        "No end date",
        "Balance £575.50",
        "£450.00 overdue",
        "October rent Overdue £950.00 £950.00",
        "Payment received (BACS 7781) £500.00 £450.00",
        "Boiler call-out £125.50 £575.50",
    ):
        assert expected in shown, expected

    # The same page for another tenant of the organization, signed in too: not theirs.
    other = staff.tenant_with_lease()
    other_person = platform.invite_and_accept(staff, other, PASSWORD)
    refused = other_person.get(f"/portal/leases/{lease_id}")
    assert refused.status_code == 404
    assert "October rent" not in refused.text and tenant["property"]["name"] not in refused.text
    # Nobody signed in is sent to sign in.
    anonymous = platform.browser_client().get(f"/portal/leases/{lease_id}")
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login")


def test_bad_charges_and_payments_are_refused_and_change_nothing(platform):
    staff = platform.new_organization()
    lease_id = staff.tenant_with_lease()["lease"]["id"]
    tomorrow = str(datetime.now(UTC).date() + timedelta(days=1))

    for path, body, field in (
        ("charges", {"description": "Rent", "amount_minor": 0, "due_date": "2026-11-01"}, "amount_minor"),
        (
            "charges",
            {"description": "Rent", "amount_minor": "950.00", "due_date": "2026-11-01"},
            "amount_minor",
        ),
        ("charges", {"description": "Rent", "amount_minor": 9.5, "due_date": "2026-11-01"}, "amount_minor"),
        ("charges", {"description": "", "amount_minor": 100, "due_date": "2026-11-01"}, "description"),
        ("charges", {"description": "Rent", "amount_minor": 100}, "due_date"),
        ("payments", {"amount_minor": 100, "paid_on": tomorrow}, "paid_on"),
        ("payments", {"amount_minor": 100, "paid_on": "2026-11-01", "extra": 1}, "extra"),
    ):
        response = staff.api.post(f"/leases/{lease_id}/{path}", json=body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert any(problem["field"].endswith(field) for problem in error["details"]["errors"]), error

    assert staff.get(f"/leases/{lease_id}/statement")["lines"] == []
    theirs = platform.new_organization()
    for method, path, body in (
        ("GET", f"/leases/{lease_id}/statement", None),
        (
            "POST",
            f"/leases/{lease_id}/charges",
            {"description": "X", "amount_minor": 1, "due_date": "2026-11-01"},
        ),
        ("POST", f"/leases/{lease_id}/payments", {"amount_minor": 1, "paid_on": "2026-11-01"}),
    ):
        response = theirs.api.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert staff.get(f"/leases/{lease_id}/statement")["lines"] == []


def form_fields(page: httpx.Response) -> dict[str, str]:
    """The hidden fields of the page's form (CSRF token, membership, the form's own key)."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    assert "csrf_token" in fields, "the page has no CSRF token"
    return fields


def test_a_tenant_reports_a_problem_and_sees_each_status_change(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    lease_id = tenant["lease"]["id"]
    person = platform.invite_and_accept(staff, tenant, PASSWORD)

    home = person.get("/portal")
    assert "Report a problem" in home.text
    form = person.get("/portal/maintenance/new")
    assert form.status_code == 200
    assert heading(form) == "Report a problem"
    for label in ("Home", "What kind of problem is it?", "How urgent is it?", "Describe the problem"):
        assert label in form.text, label
    fields = form_fields(form)

    # Bad input: the form again, saying what to fix and keeping what was typed; nothing is made.
    for bad, says in (
        ({"category": "", "description": "Leak"}, "Choose what kind of problem it is."),
        ({"category": "roof", "description": "Leak"}, "Choose what kind of problem it is."),
        (
            {"category": "plumbing", "description": "   "},
            "Describe the problem, in at most 2,000 characters.",
        ),
        (
            {"category": "plumbing", "description": "x" * 2001},
            "Describe the problem, in at most 2,000 characters.",
        ),
        ({"category": "plumbing", "description": "Leak", "priority": "whenever"}, "Choose how urgent it is."),
    ):
        data = {**fields, "lease_id": lease_id, "priority": "normal", **bad}
        data.pop("request_key")
        again = person.post("/portal/maintenance", data=data)
        assert again.status_code == 422, (bad, again.text)
        assert says in again.text
        assert heading(again) == "Report a problem"
    assert staff.get("/maintenance-requests", lease_id=lease_id)["total"] == 0

    description = "The kitchen tap drips all night.\r\nIt started on Monday."
    data = {
        **fields,
        "lease_id": lease_id,
        "category": "plumbing",
        "priority": "high",
        "description": description,
    }
    sent = person.post("/portal/maintenance", data=data)
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert re.fullmatch(r"/portal/maintenance/[0-9a-f-]{36}\?m=[0-9a-f-]{36}&notice=submitted", location)
    # The same form sent twice (a double click): one request.
    assert person.post("/portal/maintenance", data=data).headers["location"] == location
    request_id = location.split("?")[0].rsplit("/", 1)[1]
    page = person.get(location)
    assert page.status_code == 200
    assert "Your request was submitted" in page.text
    assert heading(page) == "Plumbing request"
    assert "The kitchen tap drips all night.\nIt started on Monday." in page.text

    listed = staff.get("/maintenance-requests", lease_id=lease_id)
    assert [(item["id"], item["status"], item["priority"]) for item in listed["items"]] == [
        (request_id, "submitted", "high")
    ]
    assert staff.get("/maintenance-requests", status="submitted", lease_id=lease_id)["total"] == 1
    moved = staff.post(
        f"/maintenance-requests/{request_id}/status",
        {"status": "scheduled", "note": "A plumber comes on Tuesday between 9 and 12."},
        200,
    )
    assert moved["status"] == "scheduled"
    assert [step["status"] for step in moved["history"]] == ["scheduled", "submitted"]

    back = staff.api.post(f"/maintenance-requests/{request_id}/status", json={"status": "acknowledged"})
    assert back.status_code == 409, back.text
    error = back.json()["error"]
    assert error["code"] == "conflict"
    assert "cannot go back from scheduled to acknowledged" in error["message"]
    assert error["details"]["allowed"] == ["in_progress", "completed", "cancelled"]
    unknown = staff.api.post(f"/maintenance-requests/{request_id}/status", json={"status": "done"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "invalid_input")
    assert staff.get(f"/maintenance-requests/{request_id}")["status"] == "scheduled"

    page = text_of(person.get(f"/portal/maintenance/{request_id}"))
    assert "Status Scheduled" in page
    history = page.split("History", 1)[1]
    assert history.index("Scheduled") < history.index("Submitted"), "newest first"
    assert "A plumber comes on Tuesday between 9 and 12." in history
    assert "by your property manager" in history and history.count("by you") == 2  # "by your", "by you"
    listing = text_of(person.get("/portal/maintenance"))
    assert "Plumbing: The kitchen tap drips all night." in listing and "Scheduled" in listing

    # Another tenant of the organization: neither the request nor the lease is theirs.
    other = staff.tenant_with_lease()
    other_person = platform.invite_and_accept(staff, other, PASSWORD)
    assert other_person.get(f"/portal/maintenance/{request_id}").status_code == 404
    assert "kitchen tap" not in other_person.get("/portal/maintenance").text
    other_form = form_fields(other_person.get("/portal/maintenance/new"))
    refused = other_person.post(
        "/portal/maintenance",
        data={**other_form, "lease_id": lease_id, "category": "other", "description": "Not my home"},
    )
    assert refused.status_code == 422
    assert "Choose one of your current homes." in refused.text
    assert staff.get("/maintenance-requests", lease_id=lease_id)["total"] == 1
    theirs = platform.new_organization()
    assert theirs.api.get(f"/maintenance-requests/{request_id}").status_code == 404
    assert (
        theirs.api.post(
            f"/maintenance-requests/{request_id}/status", json={"status": "completed"}
        ).status_code
        == 404
    )
    assert theirs.get("/maintenance-requests")["total"] == 0
