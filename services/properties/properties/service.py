"""nameko entrypoints of the properties service: each parses its payload and calls one handler."""

from __future__ import annotations

from typing import Any

from properties import (
    contact_links,
    defects,
    documents,
    estate,
    lease_endings,
    leases,
    maintenance,
    portfolio,
    progress,
    viewings,
    visibility,
)
from properties.models import inbox, outbox
from shared.contracts import properties as p
from shared.contracts.common import utc_now
from shared.contracts.errors import ServiceError
from shared.contracts.validation import parse
from shared.messaging import ServiceRpc, rpc, timer
from shared.providers import Database, HealthCheck, OutboxRelay, Settings

Json = dict[str, Any]
expected = {"expected_exceptions": ServiceError}


class PropertiesService(HealthCheck):
    """Owns properties (name, address), their units, leases of units with their tenants
    (co-tenants are several parties of one lease), what the tenants owe on each lease (charges and
    payments), the maintenance requests tenants make on a lease with their status history, and the
    landlords, vendors and applicants linked to a property, with the property's viewings (and their
    feedback) and offers, the progress of its sale or letting (`progress.py`), and the visibility
    settings that decide who sees viewing feedback, and the client group each property is in, with
    what that group's customers see (`portfolio.py`), and the defects staff record on a property
    (`defects.py`). Contacts and client groups themselves belong to the contacts service, which is
    asked before linking."""

    name = "properties"

    db = Database()
    contacts_rpc = ServiceRpc()
    relay = OutboxRelay(outbox, inbox)
    settings = Settings()

    @rpc(**expected)
    def create_property(self, payload: Json) -> Json:
        cmd = parse(p.CreateProperty, payload)
        return estate.create_property(self.db, cmd).model_dump(mode="json")

    @rpc(**expected)
    def add_unit(self, payload: Json) -> Json:
        return estate.add_unit(self.db, parse(p.AddUnit, payload)).model_dump(mode="json")

    @rpc(**expected)
    def create_lease(self, payload: Json) -> Json:
        cmd = parse(p.CreateLease, payload)
        return leases.create_lease(self.db, self.contacts_rpc, cmd).model_dump(mode="json")

    @rpc(**expected)
    def end_lease(self, payload: Json) -> Json:
        cmd = parse(p.EndLease, payload)
        return leases.end_lease(self.db, cmd, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def link_contact(self, payload: Json) -> Json:
        cmd = parse(p.LinkContact, payload)
        return estate.link_contact(self.db, self.contacts_rpc, cmd).model_dump(mode="json")

    @rpc(**expected)
    def unlink_contact(self, payload: Json) -> Json:
        return estate.unlink_contact(self.db, parse(p.UnlinkContact, payload)).model_dump(mode="json")

    @rpc(**expected)
    def get_property(self, payload: Json) -> Json:
        return estate.get_property(self.db, parse(p.GetProperty, payload)).model_dump(mode="json")

    @rpc(**expected)
    def list_properties(self, payload: Json) -> Json:
        return estate.list_properties(self.db, parse(p.ListProperties, payload)).model_dump(mode="json")

    @rpc(**expected)
    def get_contact_links(self, payload: Json) -> Json:
        q = parse(p.GetContactLinks, payload)
        return contact_links.get_contact_links(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def get_contact_links_many(self, payload: Json) -> Json:
        q = parse(p.GetContactLinksMany, payload)
        return contact_links.get_contact_links_many(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def add_charge(self, payload: Json) -> Json:
        return leases.add_charge(self.db, parse(p.AddCharge, payload)).model_dump(mode="json")

    @rpc(**expected)
    def record_payment(self, payload: Json) -> Json:
        cmd = parse(p.RecordPayment, payload)
        return leases.record_payment(self.db, cmd, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def get_lease_statement(self, payload: Json) -> Json:
        q = parse(p.GetLeaseStatement, payload)
        return leases.get_lease_statement(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def get_party_lease_statement(self, payload: Json) -> Json:
        q = parse(p.GetPartyLeaseStatement, payload)
        return leases.get_party_lease_statement(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def create_maintenance_request(self, payload: Json) -> Json:
        cmd = parse(p.CreateMaintenanceRequest, payload)
        limit = self.settings.max_document_bytes
        return documents.create_maintenance_request(self.db, cmd, utc_now(), limit).model_dump(mode="json")

    @rpc(**expected)
    def update_maintenance_status(self, payload: Json) -> Json:
        cmd = parse(p.UpdateMaintenanceStatus, payload)
        view = maintenance.update_maintenance_status(self.db, cmd, utc_now())
        return documents.with_photo(self.db, view).model_dump(mode="json")

    @rpc(**expected)
    def list_maintenance_requests(self, payload: Json) -> Json:
        q = parse(p.ListMaintenanceRequests, payload)
        return maintenance.list_maintenance_requests(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_maintenance_request(self, payload: Json) -> Json:
        q = parse(p.GetMaintenanceRequest, payload)
        view = maintenance.get_maintenance_request(self.db, q)
        return documents.with_photo(self.db, view).model_dump(mode="json")

    @rpc(**expected)
    def list_party_maintenance_requests(self, payload: Json) -> Json:
        q = parse(p.ListPartyMaintenanceRequests, payload)
        return maintenance.list_party_maintenance_requests(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_party_maintenance_request(self, payload: Json) -> Json:
        q = parse(p.GetPartyMaintenanceRequest, payload)
        view = maintenance.get_party_maintenance_request(self.db, q)
        return documents.with_photo(self.db, view).model_dump(mode="json")

    @rpc(**expected)
    def create_viewing(self, payload: Json) -> Json:
        cmd = parse(p.CreateViewing, payload)
        return viewings.create_viewing(self.db, self.contacts_rpc, cmd).model_dump(mode="json")

    @rpc(**expected)
    def record_viewing_feedback(self, payload: Json) -> Json:
        cmd = parse(p.RecordViewingFeedback, payload)
        return viewings.record_viewing_feedback(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def update_viewing_status(self, payload: Json) -> Json:
        cmd = parse(p.UpdateViewingStatus, payload)
        return viewings.update_viewing_status(self.db, cmd).model_dump(mode="json")

    @rpc(**expected)
    def list_property_viewings(self, payload: Json) -> Json:
        q = parse(p.ListPropertyViewings, payload)
        return viewings.list_property_viewings(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def create_offer(self, payload: Json) -> Json:
        cmd = parse(p.CreateOffer, payload)
        return viewings.create_offer(self.db, self.contacts_rpc, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def update_offer_status(self, payload: Json) -> Json:
        cmd = parse(p.UpdateOfferStatus, payload)
        return viewings.update_offer_status(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def list_property_offers(self, payload: Json) -> Json:
        q = parse(p.ListPropertyOffers, payload)
        return viewings.list_property_offers(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_contact_property_activity(self, payload: Json) -> Json:
        q = parse(p.GetContactPropertyActivity, payload)
        return viewings.get_contact_property_activity(self.db, q, utc_now().date()).model_dump(mode="json")

    @rpc(**expected)
    def set_visibility(self, payload: Json) -> Json:
        cmd = parse(p.SetVisibility, payload)
        return visibility.set_visibility(self.db, self.contacts_rpc, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def list_visibility_settings(self, payload: Json) -> Json:
        q = parse(p.ListVisibilitySettings, payload)
        return visibility.list_visibility_settings(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def explain_visibility(self, payload: Json) -> Json:
        q = parse(p.ExplainVisibility, payload)
        return visibility.explain_visibility(self.db, self.contacts_rpc, q).model_dump(mode="json")

    # --- time ---

    @timer("lease_end_sweep_seconds")
    def announce_ended_leases(self) -> None:
        lookback = self.settings.lease_end_lookback_days
        lease_endings.announce_ended_leases(self.db, utc_now().date(), lookback)

    # --- documents and maintenance photos (properties/documents.py) ---

    @rpc(**expected)
    def upload_document(self, payload: Json) -> Json:
        cmd = parse(p.UploadDocument, payload)
        limit = self.settings.max_document_bytes
        return documents.upload_document(self.db, self.contacts_rpc, cmd, limit, utc_now()).model_dump(
            mode="json"
        )

    @rpc(**expected)
    def list_documents(self, payload: Json) -> Json:
        q = parse(p.ListDocuments, payload)
        return documents.list_documents(self.db, self.contacts_rpc, q).model_dump(mode="json")

    @rpc(**expected)
    def get_document_file(self, payload: Json) -> Json:
        return documents.get_document_file(self.db, parse(p.GetDocument, payload)).model_dump(mode="json")

    @rpc(**expected)
    def set_document_audiences(self, payload: Json) -> Json:
        cmd = parse(p.SetDocumentAudiences, payload)
        return documents.set_document_audiences(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def delete_document(self, payload: Json) -> Json:
        return documents.delete_document(self.db, parse(p.DeleteDocument, payload)).model_dump(mode="json")

    @rpc(**expected)
    def list_party_documents(self, payload: Json) -> Json:
        q = parse(p.ListPartyDocuments, payload)
        return documents.list_party_documents(self.db, self.contacts_rpc, q).model_dump(mode="json")

    @rpc(**expected)
    def get_party_document_file(self, payload: Json) -> Json:
        q = parse(p.GetPartyDocumentFile, payload)
        return documents.get_party_document_file(self.db, self.contacts_rpc, q).model_dump(mode="json")

    @rpc(**expected)
    def explain_document_visibility(self, payload: Json) -> Json:
        q = parse(p.ExplainDocumentVisibility, payload)
        return documents.explain_document_visibility(self.db, self.contacts_rpc, q).model_dump(mode="json")

    @rpc(**expected)
    def get_maintenance_photo(self, payload: Json) -> Json:
        q = parse(p.GetMaintenancePhoto, payload)
        return documents.get_maintenance_photo(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def get_party_maintenance_photo(self, payload: Json) -> Json:
        q = parse(p.GetPartyMaintenancePhoto, payload)
        return documents.get_party_maintenance_photo(self.db, q).model_dump(mode="json")

    @rpc(**expected)
    def assign_client_group(self, payload: Json) -> Json:
        cmd = parse(p.AssignClientGroup, payload)
        return portfolio.assign_client_group(self.db, self.contacts_rpc, cmd).model_dump(mode="json")

    @rpc(**expected)
    def list_client_group_properties(self, payload: Json) -> Json:
        q = parse(p.ListClientGroupProperties, payload)
        return portfolio.list_client_group_properties(self.db, self.contacts_rpc, q).model_dump(mode="json")

    @rpc(**expected)
    def get_customer_portfolio(self, payload: Json) -> Json:
        q = parse(p.GetCustomerPortfolio, payload)
        answer = portfolio.get_customer_portfolio(self.db, self.contacts_rpc, q, utc_now().date())
        return answer.model_dump(mode="json")

    @rpc(**expected)
    def get_customer_property(self, payload: Json) -> Json:
        q = parse(p.GetCustomerProperty, payload)
        return portfolio.get_customer_property(self.db, self.contacts_rpc, q).model_dump(mode="json")

    # --- sale and letting progress (properties/progress.py) ---

    @rpc(**expected)
    def set_marketing_stage(self, payload: Json) -> Json:
        cmd = parse(p.SetMarketingStage, payload)
        now = utc_now()
        return progress.set_marketing_stage(self.db, cmd, now.date(), now).model_dump(mode="json")

    @rpc(**expected)
    def get_marketing_progress(self, payload: Json) -> Json:
        q = parse(p.GetMarketingProgress, payload)
        return progress.get_marketing_progress(self.db, q).model_dump(mode="json")

    # --- defects staff record on a property (properties/defects.py) ---

    @rpc(**expected)
    def record_defect(self, payload: Json) -> Json:
        cmd = parse(p.RecordDefect, payload)
        now = utc_now()
        return defects.record_defect(self.db, cmd, now.date(), now).model_dump(mode="json")

    @rpc(**expected)
    def set_defect_status(self, payload: Json) -> Json:
        cmd = parse(p.SetDefectStatus, payload)
        return defects.set_defect_status(self.db, cmd, utc_now()).model_dump(mode="json")

    @rpc(**expected)
    def list_property_defects(self, payload: Json) -> Json:
        q = parse(p.ListPropertyDefects, payload)
        return defects.list_property_defects(self.db, q).model_dump(mode="json")
