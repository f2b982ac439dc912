"""Maintenance requests: a tenant makes one on a lease they are a party of, staff move it on (forward
only, or cancel it), every change is in its history and announced through the outbox, and only the
lease's parties and the organization's staff ever see it. On the real PostgreSQL and RabbitMQ.

Decided here: every party of a lease sees every request on it (a co-tenant's too: it is their home
as well); a lease that has ended keeps its requests readable by its parties but takes no new ones,
nor does a lease that has not started.
"""

from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import text

from shared.contracts import properties as p
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import Conflict, InvalidInput, NotFound
from shared.testing.helpers import EventCollector

TODAY = utc_now().date()
S = p.MaintenanceStatus


def submit(make, contact, lease, description="The kitchen tap drips all night.", key=None, **fields):
    values = {"category": p.MaintenanceCategory.PLUMBING, "priority": p.MaintenancePriority.NORMAL}
    values.update(fields)
    return make.call(
        p.CREATE_MAINTENANCE_REQUEST,
        p.CreateMaintenanceRequest(
            organization_id=make.organization_id,
            contact_id=contact.id,
            lease_id=lease.id,
            description=description,
            idempotency_key=key,
            **values,
        ),
    )


def move(make, request, status, note=None):
    return make.call(
        p.UPDATE_MAINTENANCE_STATUS,
        p.UpdateMaintenanceStatus(actor=make.actor(), request_id=request.id, status=status, note=note),
    )


def staff_list(make, **filters):
    return make.call(
        p.LIST_MAINTENANCE_REQUESTS,
        p.ListMaintenanceRequests(organization_id=make.organization_id, **filters),
    )


def staff_get(make, request):
    return make.call(
        p.GET_MAINTENANCE_REQUEST,
        p.GetMaintenanceRequest(organization_id=make.organization_id, request_id=request.id),
    )


def party_list(make, contact, organization_id=None):
    return make.call(
        p.LIST_PARTY_MAINTENANCE_REQUESTS,
        p.ListPartyMaintenanceRequests(
            organization_id=organization_id or make.organization_id, contact_id=contact.id
        ),
    )


def party_get(make, contact, request, organization_id=None):
    return make.call(
        p.GET_PARTY_MAINTENANCE_REQUEST,
        p.GetPartyMaintenanceRequest(
            organization_id=organization_id or make.organization_id,
            contact_id=contact.id,
            request_id=request.id,
        ),
    )


def recorded_events(infra, request_id):
    with infra.engine.connect() as connection:
        return [
            row.payload
            for row in connection.execute(
                text(
                    "SELECT payload FROM properties.outbox WHERE event_type = 'maintenance_request_updated' "
                    "AND payload->>'request_id' = :id ORDER BY id"
                ),
                {"id": str(request_id)},
            )
        ]


def test_a_tenant_submits_a_request_on_their_lease_and_it_is_announced(make, settings, infra):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY - timedelta(days=30))
    collector = EventCollector(settings.amqp_uri, "properties", ["maintenance_request_updated"])
    try:
        request = submit(
            make,
            tenant,
            lease,
            "  The boiler makes a loud bang when the heating starts.  ",
            category=p.MaintenanceCategory.HEATING,
            priority=p.MaintenancePriority.URGENT,
        )
        _, event = collector.until(lambda _, payload: payload["request_id"] == str(request.id))
    finally:
        collector.close()

    assert (request.status, request.category, request.priority) == (S.SUBMITTED, "heating", "urgent")
    assert request.description == "The boiler makes a loud bang when the heating starts."
    assert (request.lease_id, request.submitted_by_contact_id) == (lease.id, tenant.id)
    assert request.unit_name == "Flat 1" and request.property_name.startswith("House")
    [submitted] = request.history
    assert (submitted.previous_status, submitted.status, submitted.note) == (None, S.SUBMITTED, None)
    assert (submitted.changed_by_contact_id, submitted.changed_by_staff_member_id) == (tenant.id, None)
    assert event["organization_id"] == str(make.organization_id)
    assert (event["previous_status"], event["status"], event["category"]) == (None, "submitted", "heating")
    assert event["tenant_contact_ids"] == [str(tenant.id)]
    assert event["unit_name"] == "Flat 1"
    assert staff_get(make, request) == request


def test_staff_move_a_request_forward_with_notes_and_each_change_is_announced(make, settings, infra):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY - timedelta(days=30))
    request = submit(make, tenant, lease)
    collector = EventCollector(settings.amqp_uri, "properties", ["maintenance_request_updated"])
    try:
        move(make, request, S.ACKNOWLEDGED)
        scheduled = move(make, request, S.SCHEDULED, "  A plumber comes on Tuesday between 9 and 12.  ")
        # The submission's own event may still be on its way when the collector starts: skip it.
        published = [
            collector.until(
                lambda _, payload: payload["request_id"] == str(request.id) and payload["previous_status"]
            )[1]
            for _ in range(2)
        ]
    finally:
        collector.close()

    assert scheduled.status == S.SCHEDULED
    assert [(step.previous_status, step.status, step.note) for step in scheduled.history] == [
        (S.ACKNOWLEDGED, S.SCHEDULED, "A plumber comes on Tuesday between 9 and 12."),
        (S.SUBMITTED, S.ACKNOWLEDGED, None),
        (None, S.SUBMITTED, None),
    ]
    assert scheduled.history[0].changed_by_staff_member_id == make.actor().staff_member_id
    assert scheduled.updated_at >= scheduled.created_at
    assert [(e["previous_status"], e["status"], e["note"]) for e in published] == [
        ("submitted", "acknowledged", None),
        ("acknowledged", "scheduled", "A plumber comes on Tuesday between 9 and 12."),
    ]
    assert published[1]["changed_by_staff_member_id"] == str(make.actor().staff_member_id)
    assert [e["status"] for e in recorded_events(infra, request.id)] == [
        "submitted",
        "acknowledged",
        "scheduled",
    ]
    # The tenant reads the same history, newest first.
    assert party_get(make, tenant, request).history == scheduled.history


def test_a_refused_status_change_says_why_and_changes_nothing(make, infra):
    tenant = make.contact()
    request = submit(make, tenant, make.lease([tenant], TODAY))
    move(make, request, S.SCHEDULED)
    before = staff_get(make, request)

    for status in (S.ACKNOWLEDGED, S.SUBMITTED, S.SCHEDULED):
        with pytest.raises(Conflict) as refused:
            move(make, request, status, "try")
        assert refused.value.details == {
            "status": "scheduled",
            "allowed": ["in_progress", "completed", "cancelled"],
        }
    assert "go back from scheduled to acknowledged" in str(_refusal(make, request, S.ACKNOWLEDGED))

    assert staff_get(make, request) == before
    assert [e["status"] for e in recorded_events(infra, request.id)] == ["submitted", "scheduled"]


def _refusal(make, request, status):
    with pytest.raises(Conflict) as refused:
        move(make, request, status)
    return refused.value


def test_completed_and_cancelled_requests_stay_as_they_are(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY)
    done = submit(make, tenant, lease)
    move(make, done, S.IN_PROGRESS)
    move(make, done, S.COMPLETED, "Washer replaced.")
    dropped = submit(make, tenant, lease)
    cancelled = move(make, dropped, S.CANCELLED, "Reported twice.")

    assert cancelled.status == S.CANCELLED
    for request, status in ((done, S.CANCELLED), (done, S.IN_PROGRESS), (dropped, S.SUBMITTED)):
        refusal = _refusal(make, request, status)
        assert "can no longer change" in refusal.message
        assert refusal.details["allowed"] == []
    assert staff_get(make, done).status == S.COMPLETED


def test_a_tenant_cannot_submit_on_someone_elses_lease(make, make_other):
    tenant, neighbour = make.contact(), make.contact()
    landlord = make.contact(ContactType.LANDLORD)
    lease = make.lease([tenant], TODAY - timedelta(days=5))
    make.lease([neighbour], TODAY - timedelta(days=5))

    for stranger in (neighbour, landlord):
        with pytest.raises(NotFound):
            submit(make, stranger, lease)
    # The tenant's own id, with another organization (as a membership there would send it).
    with pytest.raises(NotFound):
        make.call(
            p.CREATE_MAINTENANCE_REQUEST,
            p.CreateMaintenanceRequest(
                organization_id=make_other.organization_id,
                contact_id=tenant.id,
                lease_id=lease.id,
                category=p.MaintenanceCategory.OTHER,
                description="Not here.",
            ),
        )

    assert staff_list(make, lease_id=lease.id).total == 0


def test_only_the_leases_parties_read_its_requests_and_co_tenants_see_each_others(make, make_other):
    first, second, neighbour = make.contact(), make.contact(), make.contact()
    lease = make.lease([first, second], TODAY - timedelta(days=5))
    make.lease([neighbour], TODAY - timedelta(days=5))
    request = submit(make, first, lease, category=p.MaintenanceCategory.PESTS)

    assert party_get(make, second, request) == party_get(make, first, request)
    assert [item.id for item in party_list(make, second).items] == [request.id]
    with pytest.raises(NotFound):
        party_get(make, neighbour, request)
    assert party_list(make, neighbour).total == 0
    # Another organization: neither its staff nor the same contact id through it.
    with pytest.raises(NotFound):
        staff_get(make_other, request)
    with pytest.raises(NotFound):
        party_get(make, first, request, organization_id=make_other.organization_id)
    with pytest.raises(NotFound):
        move(make_other, request, S.ACKNOWLEDGED)
    assert party_list(make, first, organization_id=make_other.organization_id).total == 0
    assert request.id not in [item.id for item in staff_list(make_other, limit=200).items]
    assert staff_get(make, request).status == S.SUBMITTED


def test_an_ended_lease_keeps_its_requests_readable_but_takes_no_new_ones(make):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY - timedelta(days=100))
    request = submit(make, tenant, lease)
    make.call(
        p.END_LEASE, p.EndLease(actor=make.actor(), lease_id=lease.id, end_date=TODAY - timedelta(days=1))
    )

    with pytest.raises(Conflict) as refused:
        submit(make, tenant, lease)

    assert "this lease ended on" in refused.value.message.lower()
    assert party_get(make, tenant, request).id == request.id
    assert [item.id for item in party_list(make, tenant).items] == [request.id]
    future = make.lease([tenant], TODAY + timedelta(days=10))
    with pytest.raises(Conflict, match="starts on"):
        submit(make, tenant, future)
    assert staff_list(make, lease_id=future.id).total == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "roof"),
        ("priority", "critical"),
        ("description", "   "),
        ("description", "x" * 2001),
        ("lease_id", "not-a-lease"),
    ],
)
def test_a_bad_request_is_refused_by_field_and_creates_nothing(make, containers, field, value):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY)
    payload = {
        "organization_id": str(make.organization_id),
        "contact_id": str(tenant.id),
        "lease_id": str(lease.id),
        "category": "plumbing",
        "priority": "normal",
        "description": "Leak",
        field: value,
    }

    with (
        entrypoint_hook(containers["properties"], "create_maintenance_request") as hook,
        pytest.raises(InvalidInput) as refused,
    ):
        hook(payload)

    assert [error["field"] for error in refused.value.details["errors"]] == [field]
    assert party_list(make, tenant).total == 0


def test_a_description_of_2000_characters_is_kept_whole(make):
    tenant = make.contact()
    request = submit(make, tenant, make.lease([tenant], TODAY), "é" * 2000)
    assert staff_get(make, request).description == "é" * 2000


def test_a_status_note_is_bounded_and_the_status_must_be_known(make, containers):
    tenant = make.contact()
    request = submit(make, tenant, make.lease([tenant], TODAY))
    actor = make.actor().model_dump(mode="json")
    for field, value in (("note", "n" * 1001), ("status", "done")):
        body = {"actor": actor, "request_id": str(request.id), "status": "acknowledged", field: value}
        with (
            entrypoint_hook(containers["properties"], "update_maintenance_status") as hook,
            pytest.raises(InvalidInput) as refused,
        ):
            hook(body)
        assert refused.value.details["errors"][0]["field"] == field
    assert staff_get(make, request).status == S.SUBMITTED


def test_staff_list_requests_newest_first_by_lease_and_status(make):
    tenant, other = make.contact(), make.contact()
    lease, other_lease = make.lease([tenant], TODAY), make.lease([other], TODAY)
    first = submit(make, tenant, lease, "First")
    second = submit(make, tenant, lease, "Second")
    elsewhere = submit(make, other, other_lease, "Elsewhere")
    move(make, first, S.ACKNOWLEDGED)

    of_lease = staff_list(make, lease_id=lease.id)
    assert [item.id for item in of_lease.items] == [second.id, first.id]
    assert of_lease.total == 2
    acknowledged = staff_list(make, lease_id=lease.id, status=S.ACKNOWLEDGED)
    assert [item.id for item in acknowledged.items] == [first.id]
    everything = staff_list(make, limit=2)
    assert [item.id for item in everything.items] == [elsewhere.id, second.id]
    assert everything.total == 3
    assert [item.id for item in party_list(make, tenant).items] == [second.id, first.id]


def test_the_same_form_sent_twice_makes_one_request(make, infra):
    tenant = make.contact()
    lease = make.lease([tenant], TODAY)

    first = submit(make, tenant, lease, key="form-key-0123456789")
    again = submit(make, tenant, lease, key="form-key-0123456789")

    assert again.id == first.id
    assert party_list(make, tenant).total == 1
    assert len(recorded_events(infra, first.id)) == 1
