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
