"""Rezi's client portal for landlords with every service running as a process: staff record a
viewing with its feedback and an offer through the API; the landlord, signed in from their
invitation, sees them on the property's page; staff hide viewing feedback for that landlord, and
the next page load no longer shows it."""

from __future__ import annotations

import re

from shared.testing.helpers import random_email, random_name

PASSWORD = "violet harbours drift slowly"
FEEDBACK = "Loved the light in the lounge; worried about the road noise."
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def text_of(page) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page.text).split())


def test_a_landlord_sees_viewing_feedback_until_staff_hide_it_for_them(platform):
    staff = platform.new_organization()
    prop = staff.post(
        "/properties",
        {
            "name": random_name("Elm House "),
            "address_line1": "4 Elm Row",
            "city": "Bath",
            "postcode": "BA1 1AA",
        },
    )
    landlord = staff.post(
        "/contacts",
        {
            "type": "landlord",
            "first_name": "Lena",
            "last_name": random_name("Landlord"),
            "email": random_email(),
        },
    )
    staff.post(f"/properties/{prop['id']}/contacts", {"contact_id": landlord["id"], "role": "landlord"}, 200)
    person = platform.invite_and_accept(staff, landlord, PASSWORD)

    viewing = staff.post(
        f"/properties/{prop['id']}/viewings",
        {"scheduled_at": "2026-03-14T10:30:00Z", "applicant_name": "Priya Applicant"},
    )
    done = staff.post(
        f"/viewings/{viewing['id']}/feedback", {"feedback": FEEDBACK, "interest_level": "high"}, 200
    )
    assert (done["status"], done["feedback"]) == ("done", FEEDBACK)
    offer = staff.post(
        f"/properties/{prop['id']}/offers", {"amount_minor": 325_000_00, "offerer_name": "Jo Buyer"}
    )
    staff.post(f"/offers/{offer['id']}/status", {"status": "accepted"}, 200)
    assert [v["feedback"] for v in staff.get(f"/properties/{prop['id']}/viewings")["items"]] == [FEEDBACK]
    assert [o["status"] for o in staff.get(f"/properties/{prop['id']}/offers")["items"]] == ["accepted"]

    home = person.get("/portal")
    assert home.status_code == 200
    link = re.search(r'href="(/portal/properties/' + prop["id"] + r'\?m=[0-9a-f-]+)"', home.text)
    assert link, "the portal home links to the property's page"
    page = person.get(link.group(1))
    assert page.status_code == 200
    assert H1.search(page.text).group(1).strip() == prop["name"]  # type: ignore[union-attr]
    shown = text_of(page)
    for expected in (
        "4 Elm Row, Bath, BA1 1AA",
        "Priya Applicant Done",
        "Interest: High",
        FEEDBACK,
        "Jo Buyer £325,000.00 Accepted",
    ):
        assert expected in shown, expected
    why = staff.get(f"/contacts/{landlord['id']}/visibility/viewing-feedback")
    assert (why["visible"], [rule["level"] for rule in why["chain"] if rule["decides"]]) == (
        True,
        ["default"],
    )

    setting = staff.api.put(
        "/visibility/viewing-feedback", json={"contact_id": landlord["id"], "visible": False}
    )
    assert setting.status_code == 200, setting.text

    again = person.get(link.group(1))
    assert again.status_code == 200
    shown = text_of(again)
    assert FEEDBACK not in shown and "Interest:" not in shown
    assert "Priya Applicant Done" in shown and "Jo Buyer" in shown
    why = staff.get(f"/contacts/{landlord['id']}/visibility/viewing-feedback")
    assert (why["visible"], [(r["level"], r["setting"]) for r in why["chain"]]) == (
        False,
        [("default", True), ("organization", None), ("contact", False)],
    )

    # Another landlord of the organization, signed in too, finds nothing there.
    other = staff.post(
        "/contacts",
        {
            "type": "landlord",
            "first_name": "Olga",
            "last_name": random_name("Landlord"),
            "email": random_email(),
        },
    )
    other_prop = staff.post(
        "/properties",
        {
            "name": random_name("Ash House "),
            "address_line1": "5 Ash Row",
            "city": "Bath",
            "postcode": "BA1 1AB",
        },
    )
    staff.post(
        f"/properties/{other_prop['id']}/contacts", {"contact_id": other["id"], "role": "landlord"}, 200
    )
    stranger = platform.invite_and_accept(staff, other, PASSWORD + " too")
    refused = stranger.get(f"/portal/properties/{prop['id']}")
    assert refused.status_code == 404 and prop["name"] not in refused.text and "Priya" not in refused.text


PROGRESS = re.compile(r'<ol[^>]*id="progress-history"[^>]*>(.*?)</ol>', re.S)
TENANCIES = re.compile(r'<table[^>]*id="tenancies"[^>]*>(.*?)</table>', re.S)


def test_the_landlord_sees_the_progress_and_tenancies_a_vendor_no_tenancies_an_applicant_their_own(platform):
    """Staff move the letting along and let two flats; the landlord's page shows where it stands,
    the history in order and the tenancies (no tenant's email, no statement); the vendor's shows
    the progress but no tenancies; an applicant sees only the viewing and offer they are named on."""
    staff = platform.new_organization()
    prop = staff.post(
        "/properties",
        {
            "name": random_name("Birch House "),
            "address_line1": "7 Birch Row",
            "city": "Bath",
            "postcode": "BA1 2AA",
        },
    )

    def person(contact_type: str, first: str) -> dict:
        contact = staff.post(
            "/contacts",
            {
                "type": contact_type,
                "first_name": first,
                "last_name": random_name("P"),
                "email": random_email(),
            },
        )
        staff.post(
            f"/properties/{prop['id']}/contacts", {"contact_id": contact["id"], "role": contact_type}, 200
        )
        return contact

    landlord, vendor = person("landlord", "Lena"), person("vendor", "Vic")
    priya, sam = person("applicant", "Priya"), person("applicant", "Sam")
    tenant = staff.post(
        "/contacts",
        {
            "type": "tenant",
            "first_name": "Tess",
            "last_name": random_name("T"),
            "email": random_email("tenant"),
        },
    )
    for name, start, end in (("Flat 1", "2024-01-01", "2025-01-31"), ("Flat 2", "2025-02-01", None)):
        unit = staff.post(f"/properties/{prop['id']}/units", {"name": name})
        lease = {"unit_id": unit["id"], "start_date": start, "tenant_contact_ids": [tenant["id"]]}
        staff.post("/leases", {**lease, **({"end_date": end} if end else {})})
    staff.post(
        f"/properties/{prop['id']}/progress",
        {"kind": "letting", "stage": "instructed", "reached_on": "2026-01-05"},
    )
    staff.post(
        f"/properties/{prop['id']}/progress",
        {
            "kind": "letting",
            "stage": "on_the_market",
            "reached_on": "2026-01-12",
            "note": "Advertised on Rightmove",
        },
    )
    progress = staff.post(
        f"/properties/{prop['id']}/progress",
        {"kind": "letting", "stage": "let_agreed", "reached_on": "2026-02-01"},
    )
    assert progress["stage"] == "let_agreed" and len(progress["history"]) == 3
    back = staff.api.post(
        f"/properties/{prop['id']}/progress", json={"kind": "letting", "stage": "on_the_market"}
    )
    assert back.status_code == 409, back.text
    assert back.json()["error"]["details"]["allowed"] == {
        "letting": ["referencing", "tenancy_started", "withdrawn"]
    }
    wrong = staff.api.post(
        f"/properties/{prop['id']}/progress", json={"kind": "letting", "stage": "exchanged"}
    )
    assert wrong.status_code == 422, wrong.text
    assert staff.get(f"/properties/{prop['id']}/progress") == progress

    mine = staff.post(
        f"/properties/{prop['id']}/viewings",
        {
            "scheduled_at": "2026-03-14T10:30:00Z",
            "applicant_name": "Priya A",
            "applicant_contact_id": priya["id"],
        },
    )
    assert mine["applicant_contact_id"] == priya["id"]
    staff.post(
        f"/properties/{prop['id']}/viewings",
        {
            "scheduled_at": "2026-03-15T10:30:00Z",
            "applicant_name": "Sam S",
            "applicant_contact_id": sam["id"],
        },
    )
    staff.post(
        f"/properties/{prop['id']}/offers",
        {"amount_minor": 1_450_00, "offerer_name": "Priya A", "offerer_contact_id": priya["id"]},
    )
    staff.post(
        f"/properties/{prop['id']}/offers",
        {"amount_minor": 1_500_00, "offerer_name": "Sam S", "offerer_contact_id": sam["id"]},
    )
    refused = staff.api.post(
        f"/properties/{prop['id']}/viewings",
        json={
            "scheduled_at": "2026-03-15T10:30:00Z",
            "applicant_name": "Tess",
            "applicant_contact_id": tenant["id"],
        },
    )
    assert refused.status_code == 422, refused.text

    page = platform.invite_and_accept(staff, landlord, PASSWORD).get(f"/portal/properties/{prop['id']}")
    assert page.status_code == 200, page.text
    shown = text_of(page)
    assert "Letting progress" in shown and "Now: Let agreed , since 1 February 2026" in shown
    history = PROGRESS.search(page.text)
    assert history, "the history is an ordered list"
    assert " ".join(re.sub(r"<[^>]+>", " ", history.group(1)).split()) == (
        "Letting: Instructed , 5 January 2026 "
        "Letting: On the market , 12 January 2026 Advertised on Rightmove "
        "Letting: Let agreed , 1 February 2026"
    )
    tenancies = TENANCIES.search(page.text)
    assert tenancies, "the landlord's page has the tenancies"
    rows = " ".join(re.sub(r"<[^>]+>", " ", tenancies.group(1)).split())
    assert "Flat 2 1 February 2025 No end date Current" in rows
    assert "Flat 1 1 January 2024 31 January 2025 Ended" in rows
    assert tenant["email"] not in page.text and tenant["last_name"] not in page.text
    assert "Sam S" in shown and "Priya A" in shown

    vendors = platform.invite_and_accept(staff, vendor, PASSWORD + " v").get(
        f"/portal/properties/{prop['id']}"
    )
    assert vendors.status_code == 200
    assert "Now: Let agreed" in text_of(vendors) and 'id="tenancies"' not in vendors.text
    assert "Tenancies" not in text_of(vendors) and "Flat 1" not in vendors.text

    applicant = platform.invite_and_accept(staff, priya, PASSWORD + " a")
    home = applicant.get("/portal")
    assert f'href="/portal/properties/{prop["id"]}?m=' in home.text
    theirs = applicant.get(f"/portal/properties/{prop['id']}")
    assert theirs.status_code == 200
    shown = text_of(theirs)
    assert "You are an applicant for it." in shown
    assert "Priya A" in shown and "£1,450.00" in shown
    assert "Sam S" not in shown and "£1,500.00" not in shown
    assert "progress" not in shown.lower() and "Flat 1" not in shown and 'id="tenancies"' not in theirs.text
