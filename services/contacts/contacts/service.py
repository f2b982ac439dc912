"""nameko entrypoints of the contacts service: each parses its payload and calls one use case."""

from __future__ import annotations

from typing import Any

from contacts import client_groups, contact_records, eligibility, organizations, staff, staff_sign_in
from contacts.models import inbox, outbox
from shared.contracts import contacts as c
from shared.contracts.common import utc_now
from shared.contracts.errors import ServiceError
from shared.contracts.validation import parse
from shared.messaging import rpc, timer
from shared.providers import Database, HealthCheck, OutboxRelay, PasswordHashing, Settings

Json = dict[str, Any]
expected = {"expected_exceptions": ServiceError}


class ContactsService(HealthCheck):
    """Owns organizations, staff members (roles, portal-access permission, credentials) and contacts
    (type, names, email, phone, locale), with de-duplication by email within an organization, and
    client groups (with parent groups) with the customer contacts authorised on each, and the
    credential throttle of staff sign-in."""

    name = "contacts"

    db = Database()
    passwords = PasswordHashing()
    relay = OutboxRelay(outbox, inbox)
    settings = Settings()

    @rpc(**expected)
    def create_organization(self, payload: Json) -> Json:
        cmd = parse(c.CreateOrganization, payload)
        return organizations.create_organization(self.db, self.passwords, cmd).model_dump(mode="json")

    @rpc(**expected)
    def get_organization(self, payload: Json) -> Json:
        q = parse(c.GetOrganization, payload)
        return organizations.get_organization(self.db, q.organization_id).model_dump(mode="json")

    @rpc(**expected)
    def create_staff_member(self, payload: Json) -> Json:
        cmd = parse(c.CreateStaffMember, payload)
        return staff.create_staff_member(self.db, self.passwords, cmd).model_dump(mode="json")

    @rpc(**expected)
    def list_staff_members(self, payload: Json) -> Json:
        q = parse(c.ListStaffMembers, payload)
        return staff.list_staff_members(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def authenticate_api_token(self, payload: Json) -> Json:
        q = parse(c.AuthenticateApiToken, payload)
        return staff_sign_in.authenticate_api_token(self.db, q.token).model_dump(mode="json")

    @rpc(**expected)
    def staff_login(self, payload: Json) -> Json:
        cmd = parse(c.StaffLogin, payload)
        issued = staff_sign_in.staff_login(self.db, self.passwords, self.settings, cmd, utc_now())
        return issued.model_dump(mode="json")

    @rpc(**expected)
    def authenticate_staff_session(self, payload: Json) -> Json:
        q = parse(c.AuthenticateStaffSession, payload)
        return staff_sign_in.authenticate_staff_session(self.db, q.session_id, utc_now()).model_dump(
            mode="json"
        )

    @rpc(**expected)
    def end_staff_session(self, payload: Json) -> Json:
        cmd = parse(c.EndStaffSession, payload)
        staff_sign_in.end_staff_session(self.db, cmd.session_id, utc_now())
        return {}

    @rpc(**expected)
    def create_contact(self, payload: Json) -> Json:
        cmd = parse(c.CreateContact, payload)
        return contact_records.create_contact(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def update_contact(self, payload: Json) -> Json:
        cmd = parse(c.UpdateContact, payload)
        return contact_records.update_contact(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def archive_contact(self, payload: Json) -> Json:
        cmd = parse(c.ArchiveContact, payload)
        return contact_records.archive_contact(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def get_contact(self, payload: Json) -> Json:
        return contact_records.get_contact(self.db, parse(c.GetContact, payload)).model_dump(mode="json")

    @rpc(**expected)
    def list_contacts(self, payload: Json) -> Json:
        return contact_records.list_contacts(self.db, parse(c.ListContacts, payload)).model_dump(mode="json")

    @rpc(**expected)
    def get_eligibility_facts(self, payload: Json) -> Json:
        q = parse(c.GetEligibilityFacts, payload)
        return eligibility.get_eligibility_facts(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_eligibility_facts_many(self, payload: Json) -> Json:
        q = parse(c.GetEligibilityFactsMany, payload)
        return eligibility.get_eligibility_facts_many(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def create_client_group(self, payload: Json) -> Json:
        cmd = parse(c.CreateClientGroup, payload)
        return client_groups.create_client_group(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def update_client_group(self, payload: Json) -> Json:
        cmd = parse(c.UpdateClientGroup, payload)
        return client_groups.update_client_group(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def get_client_group(self, payload: Json) -> Json:
        q = parse(c.GetClientGroup, payload)
        return client_groups.get_client_group(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def list_client_groups(self, payload: Json) -> Json:
        q = parse(c.ListClientGroups, payload)
        return client_groups.list_client_groups(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def add_client_group_member(self, payload: Json) -> Json:
        cmd = parse(c.ClientGroupMembership, payload)
        return client_groups.add_client_group_member(self.db, cmd).model_dump(mode="json")

    @rpc(**expected)
    def remove_client_group_member(self, payload: Json) -> Json:
        cmd = parse(c.ClientGroupMembership, payload)
        return client_groups.remove_client_group_member(self.db, cmd).model_dump(mode="json")

    @rpc(**expected)
    def get_contact_client_groups(self, payload: Json) -> Json:
        q = parse(c.GetContactClientGroups, payload)
        return client_groups.get_contact_client_groups(self.db, q).model_dump(mode="json")

    # --- time ---

    @timer("throttle_prune_seconds")
    def prune_throttle(self) -> None:
        staff_sign_in.prune_throttle(self.db, utc_now())
