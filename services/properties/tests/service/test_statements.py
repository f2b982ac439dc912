"""What a tenant owes: staff add charges and record payments, staff and the lease's parties read the
statement, and nobody else does. On the real PostgreSQL and RabbitMQ, through the entrypoints.

Decided here: a lease that has ended stays readable by its parties, statement included (what they
paid and still owe does not vanish with the tenancy), and staff may still charge it (a final bill).
"""

from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook

from shared.contracts import properties as p
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import Conflict, InvalidInput, NotFound

TODAY = utc_now().date()


def add_charge(make, lease, amount, due, description="Rent", key=None):
    return make.call(
        p.ADD_CHARGE,
        p.AddCharge(
            actor=make.actor(),
            lease_id=lease.id,
            description=description,
            amount_minor=amount,
            due_date=due,
            idempotency_key=key,
        ),
    )


def record_payment(make, lease, amount, paid_on, reference=None, key=None):
    return make.call(
        p.RECORD_PAYMENT,
        p.RecordPayment(
            actor=make.actor(),
            lease_id=lease.id,
            amount_minor=amount,
            paid_on=paid_on,
            reference=reference,
            idempotency_key=key,
        ),
    )


def staff_statement(make, lease):
    return make.call(
        p.GET_LEASE_STATEMENT, p.GetLeaseStatement(organization_id=make.organization_id, lease_id=lease.id)
    )


def party_statement(make, contact, lease, organization_id=None):
    return make.call(
        p.GET_PARTY_LEASE_STATEMENT,
        p.GetPartyLeaseStatement(
            organization_id=organization_id or make.organization_id, contact_id=contact.id, lease_id=lease.id
        ),
    )


def links_of(make, contact):
    return make.call(
        p.GET_CONTACT_LINKS, p.GetContactLinks(organization_id=make.organization_id, contact_id=contact.id)
    )


def test_charges_and_payments_make_the_statement_and_the_balance(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY - timedelta(days=60))

    deposit = add_charge(make, lease, 120_000, TODAY - timedelta(days=60), "Deposit")
    rent = add_charge(make, lease, 95_050, TODAY - timedelta(days=30), "Rent")
    next_rent = add_charge(make, lease, 95_050, TODAY + timedelta(days=1), "Next month's rent")
    paid = record_payment(make, lease, 150_000, TODAY - timedelta(days=20), "BACS 0042")

    assert (rent.lease_id, rent.amount_minor, rent.description) == (lease.id, 95_050, "Rent")
    assert (paid.amount_minor, paid.reference, paid.paid_on) == (
        150_000,
        "BACS 0042",
        TODAY - timedelta(days=20),
    )
    statement = staff_statement(make, lease)
    assert statement.as_of == TODAY and statement.currency == "GBP"
    assert [(line.id, line.running_balance_minor) for line in statement.lines] == [
        (deposit.id, 120_000),
        (rent.id, 215_050),
        (paid.id, 65_050),
        (next_rent.id, 160_100),
    ]
    assert [line.overdue for line in statement.lines] == [False, True, False, False]
    assert (statement.total_charged_minor, statement.total_paid_minor) == (310_100, 150_000)
    assert statement.balance_due_minor == 160_100
    assert statement.overdue_minor == 65_050  # of the rent past due; next month's is not due yet
    assert statement.lease.lease_id == lease.id and statement.lease.active
    assert (statement.lease.balance_due_minor, statement.lease.overdue_minor) == (160_100, 65_050)

    # The dashboard's summary (contact links) tells the same.
    [link] = links_of(make, tenant).leases
    assert (link.balance_due_minor, link.overdue_minor) == (160_100, 65_050)


def test_a_lease_without_charges_owes_nothing(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY)

    statement = party_statement(make, tenant, lease)

    assert statement.lines == []
    assert (statement.balance_due_minor, statement.overdue_minor) == (0, 0)
    assert (links_of(make, tenant).leases[0].balance_due_minor) == 0


def test_overpaying_leaves_the_tenant_in_credit(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY - timedelta(days=10))
    add_charge(make, lease, 50_000, TODAY - timedelta(days=10))
    record_payment(make, lease, 55_000, TODAY)

    statement = party_statement(make, tenant, lease)

    assert (statement.balance_due_minor, statement.overdue_minor) == (-5_000, 0)
    assert links_of(make, tenant).leases[0].balance_due_minor == -5_000


def test_a_party_reads_its_statement_and_co_tenants_see_the_same(make):
    first, second = make.contact(), make.contact()
    lease = make.lease([first, second], TODAY - timedelta(days=30))
    add_charge(make, lease, 80_000, TODAY - timedelta(days=30))
    record_payment(make, lease, 30_000, TODAY - timedelta(days=29), "Half from Sam")

    seen_by_first = party_statement(make, first, lease)
    seen_by_second = party_statement(make, second, lease)

    assert seen_by_first == seen_by_second
    assert seen_by_first.balance_due_minor == 50_000
    assert seen_by_first == staff_statement(make, lease)
    assert [line.reference for line in seen_by_first.lines] == [None, "Half from Sam"]


def test_a_contact_who_is_not_a_party_of_the_lease_gets_not_found(make):
    tenant, neighbour = make.contact(), make.contact()
    landlord = make.contact(ContactType.LANDLORD)
    lease = make.lease([tenant], TODAY - timedelta(days=5))
    make.lease([neighbour], TODAY - timedelta(days=5))
    add_charge(make, lease, 10_000, TODAY)

    for stranger in (neighbour, landlord):
        with pytest.raises(NotFound) as refused:
            party_statement(make, stranger, lease)
        assert refused.value.message == "no such lease"  # the same answer as a lease that does not exist


def test_another_organization_finds_neither_the_lease_nor_its_statement(make, make_other):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY - timedelta(days=5))
    add_charge(make, lease, 10_000, TODAY)
    before = staff_statement(make, lease)

    with pytest.raises(NotFound):
        staff_statement(make_other, lease)
    # A's contact id, with B's organization (as a membership of B would send it).
    with pytest.raises(NotFound):
        party_statement(make, tenant, lease, organization_id=make_other.organization_id)
    with pytest.raises(NotFound):
        add_charge(make_other, lease, 99_999, TODAY)
    with pytest.raises(NotFound):
        record_payment(make_other, lease, 99_999, TODAY)

    assert staff_statement(make, lease) == before


def test_an_ended_lease_stays_readable_by_its_parties_and_can_still_be_charged(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY - timedelta(days=400), TODAY - timedelta(days=1))
    add_charge(make, lease, 25_000, TODAY - timedelta(days=1), "Cleaning after move-out")

    statement = party_statement(make, tenant, lease)

    assert not statement.lease.active
    assert statement.lease.end_date == TODAY - timedelta(days=1)
    assert statement.balance_due_minor == statement.overdue_minor == 25_000


def test_a_lease_that_does_not_exist_is_not_found(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY)
    missing = lease.model_copy(update={"id": make.contact().id})  # some id that is no lease

    with pytest.raises(NotFound):
        add_charge(make, missing, 100, TODAY)
    with pytest.raises(NotFound):
        staff_statement(make, missing)
    with pytest.raises(NotFound):
        party_statement(make, tenant, missing)


def test_a_payment_dated_in_the_future_is_refused_and_changes_nothing(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY)

    with pytest.raises(InvalidInput) as refused:
        record_payment(make, lease, 10_000, TODAY + timedelta(days=1))

    assert refused.value.details["errors"][0]["field"] == "paid_on"
    assert "future" in refused.value.message
    assert staff_statement(make, lease).lines == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_minor", 0),
        ("amount_minor", -500),
        ("amount_minor", 12.5),
        ("amount_minor", "1000"),
        ("amount_minor", 100_000_001),
        ("description", ""),
        ("description", "x" * 201),
        ("due_date", "2026-02-30"),
    ],
)
def test_a_bad_charge_is_refused_by_field_and_changes_nothing(make, containers, field, value):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY)
    payload = {
        "actor": make.actor().model_dump(mode="json"),
        "lease_id": str(lease.id),
        "description": "Rent",
        "amount_minor": 10_000,
        "due_date": TODAY.isoformat(),
        field: value,
    }

    with (
        entrypoint_hook(containers["properties"], "add_charge") as hook,
        pytest.raises(InvalidInput) as refused,
    ):
        hook(payload)

    assert [error["field"] for error in refused.value.details["errors"]] == [field]
    assert staff_statement(make, lease).lines == []


def test_a_payment_reference_is_bounded(make, containers):
    lease = make.lease([make.contact()], TODAY)
    payload = {
        "actor": make.actor().model_dump(mode="json"),
        "lease_id": str(lease.id),
        "amount_minor": 10_000,
        "paid_on": TODAY.isoformat(),
        "reference": "r" * 101,
    }

    with (
        entrypoint_hook(containers["properties"], "record_payment") as hook,
        pytest.raises(InvalidInput) as refused,
    ):
        hook(payload)

    assert refused.value.details["errors"][0]["field"] == "reference"
    assert staff_statement(make, lease).lines == []


def test_the_same_idempotency_key_records_a_charge_and_a_payment_once(make):
    lease = make.lease([make.contact()], TODAY - timedelta(days=3))

    first = add_charge(make, lease, 70_000, TODAY, key="charge-key-0001")
    again = add_charge(make, lease, 70_000, TODAY, key="charge-key-0001")
    paid = record_payment(make, lease, 20_000, TODAY, "ref", key="payment-key-0001")
    paid_again = record_payment(make, lease, 20_000, TODAY, "ref", key="payment-key-0001")

    assert again == first and paid_again == paid
    with pytest.raises(Conflict):
        add_charge(make, lease, 71_000, TODAY, key="charge-key-0001")
    with pytest.raises(Conflict):
        record_payment(make, lease, 20_000, TODAY, "another ref", key="payment-key-0001")
    statement = staff_statement(make, lease)
    assert [line.id for line in statement.lines] == [first.id, paid.id]
    assert statement.balance_due_minor == 50_000
    # A key is the lease's: on another lease it is a new charge.
    other = make.lease([make.contact()], TODAY)
    assert add_charge(make, other, 70_000, TODAY, key="charge-key-0001").id != first.id
