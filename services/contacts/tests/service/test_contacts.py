"""The contacts service through its nameko entrypoints, on the real PostgreSQL and RabbitMQ."""

import uuid

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook

from contacts.service import ContactsService
from shared.contracts import contacts as c
from shared.contracts.common import ContactType, StaffRole
from shared.contracts.errors import (
    DuplicateContact,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    PasswordRejected,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
)
from shared.testing.helpers import (
    ADMIN_PASSWORD,
    EventCollector,
    RowLockHolder,
    actor,
    random_email,
    random_name,
    rpc_over_broker,
)


def new_contact(org, call, **fields):
    values = {
        "type": ContactType.TENANT,
        "first_name": "Tess",
        "last_name": random_name("Tenant"),
        "email": random_email("tenant"),
    }
    values.update(fields)
    return call(c.CREATE_CONTACT, c.CreateContact(actor=actor(org), contact=c.NewContact(**values)))


def test_a_new_organization_has_an_admin_who_can_use_the_api_token(call, org):
    principal = call(c.AUTHENTICATE_API_TOKEN, c.AuthenticateApiToken(token=org.api_token))

    assert principal.organization.id == org.organization.id
    assert principal.staff_member.role == StaffRole.ADMIN
    assert principal.staff_member.can_manage_portal_access
    with pytest.raises(InvalidCredentials):
        call(c.AUTHENTICATE_API_TOKEN, c.AuthenticateApiToken(token="pat_" + "x" * 43))


def test_an_organization_refuses_a_weak_admin_password(call):
    with pytest.raises(PasswordRejected) as refused:
        call(
            c.CREATE_ORGANIZATION,
            c.CreateOrganization(
                name="Weak", admin_email=random_email(), admin_name="A", admin_password="password1234"
            ),
        )
    assert "too common" in refused.value.message


def test_creating_a_contact_publishes_contact_created(call, org, settings):
    collector = EventCollector(settings.amqp_uri, "contacts", ["contact_created"])
    try:
        contact = new_contact(org, call, phone="020 7946 0958", locale="en-GB")
        _, payload = collector.until(lambda _, p: p["contact"]["id"] == str(contact.id))
    finally:
        collector.close()

    assert contact.phone == "+442079460958"
    assert payload["organization_id"] == str(org.organization.id)
    assert payload["contact"]["email"] == contact.email
    assert payload["schema_version"] == 1
    assert payload["event_id"]


def test_a_second_contact_with_the_same_email_is_refused_and_named(call, org):
    first = new_contact(org, call, first_name="Tess", last_name="Trueman")

    with pytest.raises(DuplicateContact) as refused:
        new_contact(org, call, email=first.email.upper(), type=ContactType.LANDLORD)

    assert "Tess Trueman" in refused.value.message
    assert refused.value.details["existing_contact_id"] == str(first.id)
    page = call(c.LIST_CONTACTS, c.ListContacts(organization_id=org.organization.id, search=first.email))
    assert [item.id for item in page.items] == [first.id]


def test_the_same_email_may_be_a_contact_in_another_organization(call, org):
    other = call(
        c.CREATE_ORGANIZATION,
        c.CreateOrganization(
            name=random_name("Other"),
            admin_email=random_email(),
            admin_name="B",
            admin_password=ADMIN_PASSWORD,
        ),
    )
    first = new_contact(org, call)
    second = new_contact(other, call, email=first.email)
    assert second.organization_id == other.organization.id


def test_concurrent_creates_of_one_email_make_exactly_one_contact(contacts, org, settings):
    call = rpc_over_broker(settings.nameko_config())
    email = random_email("race")
    pool = eventlet.GreenPool()
    outcomes = list(pool.imap(lambda _: _attempt(lambda: new_contact(org, call, email=email)), range(6)))

    created = [o for o in outcomes if isinstance(o, c.ContactView)]
    refused = [o for o in outcomes if isinstance(o, DuplicateContact)]
    assert len(created) == 1
    assert len(refused) == 5
    assert all(r.details["existing_contact_id"] == str(created[0].id) for r in refused)


def _attempt(action):
    try:
        return action()
    except Exception as exc:
        return exc


def test_updating_the_email_publishes_updated_and_email_changed(call, org, settings):
    contact = new_contact(org, call)
    new_email = random_email("moved")
    collector = EventCollector(settings.amqp_uri, "contacts", ["contact_updated", "contact_email_changed"])
    try:
        updated = call(
            c.UPDATE_CONTACT,
            c.UpdateContact(
                actor=actor(org), contact_id=contact.id, changes=c.ContactChanges(email=new_email)
            ),
        )
        seen = {}
        while len(seen) < 2:
            event_type, payload = collector.next()
            seen[event_type] = payload
    finally:
        collector.close()

    assert updated.email == new_email
    assert seen["contact_updated"]["changed_fields"] == ["email"]
    assert seen["contact_email_changed"]["old_email"] == contact.email
    assert seen["contact_email_changed"]["new_email"] == new_email


def test_archiving_frees_the_email_and_hides_the_contact_from_lists(call, org):
    contact = new_contact(org, call)
    archived = call(c.ARCHIVE_CONTACT, c.ArchiveContact(actor=actor(org), contact_id=contact.id))
    assert archived.archived_at is not None

    again = new_contact(org, call, email=contact.email)
    listed = call(c.LIST_CONTACTS, c.ListContacts(organization_id=org.organization.id, search=contact.email))
    assert [item.id for item in listed.items] == [again.id]
    with_archived = call(
        c.LIST_CONTACTS,
        c.ListContacts(organization_id=org.organization.id, search=contact.email, include_archived=True),
    )
    assert {item.id for item in with_archived.items} == {contact.id, again.id}


def test_list_by_type_and_search_stay_inside_the_organization(call, org):
    marker = random_name("Zed")
    tenant = new_contact(org, call, last_name=marker)
    landlord = new_contact(org, call, last_name=marker, type=ContactType.LANDLORD)
    org_id = org.organization.id

    tenants = call(
        c.LIST_CONTACTS, c.ListContacts(organization_id=org_id, type=ContactType.TENANT, search=marker)
    )
    everyone = call(c.LIST_CONTACTS, c.ListContacts(organization_id=org_id, search=f"tess {marker}"))
    assert [item.id for item in tenants.items] == [tenant.id]
    assert {item.id for item in everyone.items} == {tenant.id, landlord.id}
    assert everyone.total == 2

    other = call(
        c.CREATE_ORGANIZATION,
        c.CreateOrganization(
            name="Other", admin_email=random_email(), admin_name="B", admin_password=ADMIN_PASSWORD
        ),
    )
    assert (
        call(c.LIST_CONTACTS, c.ListContacts(organization_id=other.organization.id, search=marker)).total == 0
    )
    with pytest.raises(NotFound):
        call(c.GET_CONTACT, c.GetContact(organization_id=other.organization.id, contact_id=tenant.id))
    with pytest.raises(NotFound):
        call(
            c.UPDATE_CONTACT,
            c.UpdateContact(
                actor=actor(other), contact_id=tenant.id, changes=c.ContactChanges(first_name="X")
            ),
        )


def test_search_treats_wildcards_as_text(call, org):
    new_contact(org, call, last_name=random_name("Plain"))
    assert call(c.LIST_CONTACTS, c.ListContacts(organization_id=org.organization.id, search="%")).total == 0


def test_bad_input_is_refused_with_the_field_named(contacts, org):
    with entrypoint_hook(contacts, "create_contact") as hook:
        with pytest.raises(InvalidInput) as bad_email:
            hook(
                {
                    "actor": actor(org).model_dump(mode="json"),
                    "contact": {
                        "type": "tenant",
                        "first_name": "A",
                        "last_name": "B",
                        "email": "not-an-email",
                    },
                }
            )
        with pytest.raises(InvalidInput) as unknown_field:
            hook(
                {
                    "actor": actor(org).model_dump(mode="json"),
                    "contact": {
                        "type": "tenant",
                        "first_name": "A",
                        "last_name": "B",
                        "email": random_email(),
                        "admin": True,
                    },
                }
            )
        with pytest.raises(InvalidInput) as short_phone:
            hook(
                {
                    "actor": actor(org).model_dump(mode="json"),
                    "contact": {
                        "type": "tenant",
                        "first_name": "A",
                        "last_name": "B",
                        "email": random_email(),
                        "phone": "12",
                    },
                }
            )
        with pytest.raises(InvalidInput) as bad_phone:
            hook(
                {
                    "actor": actor(org).model_dump(mode="json"),
                    "contact": {
                        "type": "tenant",
                        "first_name": "A",
                        "last_name": "B",
                        "email": random_email(),
                        "phone": "12345",
                    },
                }
            )

    assert bad_email.value.details["errors"][0]["field"] == "contact.email"
    assert unknown_field.value.details["errors"][0]["field"] == "contact.admin"
    assert short_phone.value.details["errors"][0]["field"] == "contact.phone"
    assert bad_phone.value.details["errors"][0]["field"] == "contact.phone"
    assert "valid phone number" in bad_phone.value.message


def test_staff_members_are_listed_by_name_within_their_organization_only(call, org):
    call(
        c.CREATE_STAFF_MEMBER,
        c.CreateStaffMember(actor=actor(org), email=random_email("zed"), name="Zed Agent"),
    )
    call(
        c.CREATE_STAFF_MEMBER,
        c.CreateStaffMember(actor=actor(org), email=random_email("bea"), name="Bea Agent"),
    )
    other = call(
        c.CREATE_ORGANIZATION,
        c.CreateOrganization(
            name=random_name("Other"),
            admin_email=random_email("admin"),
            admin_name="Olly Other",
            admin_password=ADMIN_PASSWORD,
        ),
    )

    page = call(c.LIST_STAFF_MEMBERS, c.ListStaffMembers(organization_id=org.organization.id))

    assert [m.name for m in page.items] == ["Ada Admin", "Bea Agent", "Zed Agent"]
    assert page.total == 3
    assert {m.organization_id for m in page.items} == {org.organization.id}
    assert other.admin.id not in {m.id for m in page.items}


def test_a_viewer_reads_but_cannot_change_contacts(call, org):
    viewer = call(
        c.CREATE_STAFF_MEMBER,
        c.CreateStaffMember(
            actor=actor(org), email=random_email("viewer"), name="Vee", role=StaffRole.VIEWER
        ),
    )
    viewer_actor = actor(org).model_copy(update={"staff_member_id": viewer.id})
    with pytest.raises(PermissionDenied):
        call(
            c.CREATE_CONTACT,
            c.CreateContact(
                actor=viewer_actor,
                contact=c.NewContact(
                    type=ContactType.TENANT, first_name="A", last_name="B", email=random_email()
                ),
            ),
        )


def test_staff_sign_in_and_out(call, org):
    issued = call(c.STAFF_LOGIN, c.StaffLogin(email=org.admin.email.upper(), password=ADMIN_PASSWORD))
    principal = call(c.AUTHENTICATE_STAFF_SESSION, c.AuthenticateStaffSession(session_id=issued.session_id))
    assert principal.staff_member.id == org.admin.id

    call(c.END_STAFF_SESSION, c.EndStaffSession(session_id=issued.session_id))
    with pytest.raises(InvalidCredentials):
        call(c.AUTHENTICATE_STAFF_SESSION, c.AuthenticateStaffSession(session_id=issued.session_id))


def test_unknown_and_known_emails_fail_and_are_refused_alike(call, org, settings):
    answers = {}
    for email in (org.admin.email, random_email("nobody")):
        messages = []
        for _ in range(settings.throttle_account_burst):
            with pytest.raises(InvalidCredentials) as failed:
                call(c.STAFF_LOGIN, c.StaffLogin(email=email, password="wrong password 123"))
            messages.append(failed.value.message)
        with pytest.raises(RateLimited) as locked:
            call(c.STAFF_LOGIN, c.StaffLogin(email=email, password=ADMIN_PASSWORD))
        answers[email] = (set(messages), locked.value.message, locked.value.retry_after > 0)

    known, unknown = answers.values()
    assert known == unknown


def test_a_slow_query_in_one_worker_does_not_stall_another(call, org, infra):
    """One worker waits on a row lock that another process holds for 3 s; a second worker of the same
    service must answer meanwhile. Were the hub blocked by the first query (psycopg's default wait
    function under eventlet), the second could only answer after the first had finished."""
    contact = new_contact(org, call)
    lock_sql = f"SELECT 1 FROM contacts.contacts WHERE id = '{contact.id}' FOR UPDATE"
    with RowLockHolder(infra.database_url, lock_sql, seconds=3):
        slow = eventlet.spawn(
            call,
            c.UPDATE_CONTACT,
            c.UpdateContact(
                actor=actor(org), contact_id=contact.id, changes=c.ContactChanges(first_name="Slow")
            ),
        )
        eventlet.sleep(0.2)  # the update is now waiting for the row lock
        fast = call(c.GET_CONTACT, c.GetContact(organization_id=org.organization.id, contact_id=contact.id))
        slow_done_before_fast = slow.dead

    assert fast.first_name == "Tess"
    assert not slow_done_before_fast, "the second worker had to wait for the first one's query"
    assert slow.wait().first_name == "Slow"


def test_a_service_without_its_database_answers_unavailable_and_lives_on(container_factory, settings):
    """A database outage is the service's trouble, not the caller's: ServiceUnavailable (503 at
    the gateway), never an internal error, and the service keeps answering."""
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}
    )
    container = container_factory(ContactsService, unreachable.nameko_config())
    container.start()
    call = rpc_over_broker(unreachable.nameko_config())

    for _ in range(2):
        with pytest.raises(ServiceUnavailable) as refused:
            call(c.GET_ORGANIZATION, c.GetOrganization(organization_id=uuid.uuid4()))
        assert "cannot reach its database" in refused.value.message
    assert container.started  # still serving
