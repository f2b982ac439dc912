"""The pure rules of documents: which files are accepted, the default audiences, the visibility
decision with its chain, and file names safe to keep."""

from properties.rules import documents as rules
from shared.contracts.common import ContactType
from shared.contracts.properties import DOCUMENT_CONTENT_TYPES, DocumentKind, DocumentScope

LIMIT = 1024


def test_files_are_refused_for_each_reason():
    assert rules.file_problem("application/pdf", b"%PDF-1.7", DOCUMENT_CONTENT_TYPES, LIMIT) is None
    assert rules.file_problem("application/pdf", None, DOCUMENT_CONTENT_TYPES, LIMIT) == (
        "the file is not standard base64"
    )
    assert rules.file_problem("application/pdf", b"", DOCUMENT_CONTENT_TYPES, LIMIT) == "the file is empty"
    assert "at most 1,024 bytes" in str(
        rules.file_problem("text/plain", b"a" * 1025, DOCUMENT_CONTENT_TYPES, LIMIT)
    )
    assert "not accepted" in str(rules.file_problem("text/html", b"<p>", DOCUMENT_CONTENT_TYPES, LIMIT))
    assert "not PNG image" in str(rules.file_problem("image/png", b"<svg/>", DOCUMENT_CONTENT_TYPES, LIMIT))
    assert rules.decode_base64("not base64!") is None


def test_default_audiences_follow_kind_and_scope():
    assert rules.default_audiences(DocumentScope.LEASE, DocumentKind.INVOICE) == [ContactType.TENANT]
    assert rules.default_audiences(DocumentScope.PROPERTY, DocumentKind.QUOTE) == [ContactType.LANDLORD]
    assert rules.default_audiences(DocumentScope.PROPERTY, DocumentKind.OTHER) == [
        ContactType.LANDLORD,
        ContactType.VENDOR,
    ]
    assert rules.default_audiences(DocumentScope.CLIENT_GROUP, DocumentKind.RECEIPT) == [ContactType.CUSTOMER]


def test_a_document_is_visible_only_through_a_link_of_a_shared_type():
    about = "the property Rose Cottage"
    seen = rules.decide_document_visibility(
        DocumentScope.PROPERTY, about, {ContactType.LANDLORD}, [ContactType.LANDLORD]
    )
    assert seen.visible and [step.passed for step in seen.chain] == [True, True, True]
    vendor = rules.decide_document_visibility(
        DocumentScope.PROPERTY, about, {ContactType.VENDOR}, [ContactType.LANDLORD]
    )
    assert not vendor.visible and [step.passed for step in vendor.chain] == [True, False, False]
    stranger = rules.decide_document_visibility(DocumentScope.PROPERTY, about, set(), [ContactType.TENANT])
    assert not stranger.visible and not stranger.chain[0].passed


def test_an_applicants_link_is_said_to_staff_in_words():
    for scope, words in [
        (DocumentScope.PROPERTY, "an applicant for it"),
        (DocumentScope.LEASE, "an applicant for its property"),
    ]:
        seen = rules.decide_document_visibility(scope, "Rose Cottage", {ContactType.APPLICANT}, [])
        assert seen.chain[0].explanation == f"This document is about Rose Cottage; this contact is {words}."


def test_file_names_keep_no_path_or_header_characters():
    assert rules.safe_file_name("C:\\fakepath\\bill.pdf") == "bill.pdf"
    assert rules.safe_file_name('../../etc/"passwd"\r\n') == "passwd"
    assert rules.safe_file_name("...") == "document"


def test_a_customers_link_names_the_group_it_runs_through():
    direct = rules.customer_link_words(DocumentScope.CLIENT_GROUP, "Acme North", "Acme North")
    above = rules.customer_link_words(DocumentScope.PROPERTY, "Acme North", "Acme Holdings")
    assert direct == "a customer authorised on Acme North"
    assert above == "a customer authorised on Acme Holdings, a client group above its group Acme North"
    seen = rules.decide_document_visibility(
        DocumentScope.PROPERTY, "the property Depot", {ContactType.CUSTOMER}, [ContactType.CUSTOMER], above
    )
    assert seen.visible
    assert seen.chain[0].explanation == f"This document is about the property Depot; this contact is {above}."
    stranger = rules.decide_document_visibility(DocumentScope.CLIENT_GROUP, "a client group", set(), [])
    assert "not an authorised account of that client group" in stranger.chain[0].explanation
