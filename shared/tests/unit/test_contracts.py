import pytest
from pydantic import ValidationError

from shared.contracts import contacts as c
from shared.contracts.errors import InvalidInput
from shared.contracts.properties import CreateLease
from shared.contracts.validation import parse


def test_emails_are_validated_and_normalised():
    contact = c.NewContact(type="tenant", first_name="A", last_name="B", email="  Tess@EXAMPLE.com ")
    assert contact.email == "Tess@example.com"
    with pytest.raises(ValidationError):
        c.NewContact(type="tenant", first_name="A", last_name="B", email="tess@")


def test_contact_changes_need_a_field_and_refuse_removing_a_name():
    with pytest.raises(ValidationError, match="at least one field"):
        c.ContactChanges()
    with pytest.raises(ValidationError, match="first_name cannot be removed"):
        c.ContactChanges(first_name=None)
    assert c.ContactChanges(phone=None).model_fields_set == {"phone"}


def test_a_lease_cannot_end_before_it_starts_or_list_a_tenant_twice():
    import uuid

    actor = {"organization_id": str(uuid.uuid4()), "staff_member_id": str(uuid.uuid4())}
    tenant = str(uuid.uuid4())
    with pytest.raises(ValidationError, match="end_date"):
        CreateLease(
            actor=actor,
            unit_id=uuid.uuid4(),
            start_date="2026-05-01",
            end_date="2026-04-30",
            tenant_contact_ids=[tenant],
        )
    with pytest.raises(ValidationError, match="twice"):
        CreateLease(
            actor=actor, unit_id=uuid.uuid4(), start_date="2026-05-01", tenant_contact_ids=[tenant, tenant]
        )


def test_parse_names_fields_but_never_echoes_values():
    with pytest.raises(InvalidInput) as bad:
        parse(c.StaffLogin, {"email": "a@b.c", "password": "s3cret-value", "extra": "s3cret-value"})
    assert bad.value.details["errors"] == [{"field": "extra", "message": "Extra inputs are not permitted"}]
    assert "s3cret-value" not in str(bad.value.details) + bad.value.message


def test_an_event_longer_than_its_consumers_tables_breaks_the_contract():
    """Parked at once as invalid, instead of failing in a consumer's database on every retry."""
    import uuid

    from shared.contracts.events import InvitationSent

    fields = {
        "organization_id": uuid.uuid4(),
        "invitation_id": uuid.uuid4(),
        "contact_id": uuid.uuid4(),
        "contact_type": "tenant",
        "email": "tess@example.com",
        "recipient_name": "Tess",
        "organization_name": "Acme",
        "locale": "en-GB",
        "expires_at": "2026-12-01T00:00:00Z",
        "sent_by_staff_member_id": uuid.uuid4(),
        "is_resend": False,
        "sealed_link": "x",
    }
    InvitationSent.model_validate(fields)
    for field, value in (
        ("locale", "zh-Hant-TW-x-private1"),
        ("email", "a" * 250 + "@x.io"),
        ("recipient_name", "N" * 202),
    ):
        with pytest.raises(ValidationError):
            InvitationSent.model_validate({**fields, field: value})
