"""The invitations service hears every delivery's result; only an invitation's email moves an
invitation. A maintenance update's email (another purpose) changes none, even when its subject id
happens to be an invitation's."""

import uuid

from nameko.testing.services import entrypoint_hook

from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts.common import InvitationState as S


def history(platform, org, contact):
    page = platform.invitations(
        i.LIST_INVITATIONS, i.ListInvitations(organization_id=org.id, contact_id=contact.id)
    )
    return [step.state for step in page.items[0].history]


def handle(platform, method, event):
    with entrypoint_hook(platform.containers["invitations"], method) as hook:
        hook([event.model_dump(mode="json")])  # a batch handler: a batch of one


def test_a_maintenance_emails_result_changes_no_invitation(platform):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    view = platform.invitations(i.SEND_INVITATION, i.SendInvitation(actor=org.actor, contact_id=tenant.id))
    facts = {"organization_id": org.id, "purpose": "maintenance_update", "subject_id": view.id}

    handle(platform, "on_delivery_queued", e.DeliveryQueued(**facts, delivery_id=uuid.uuid4()))
    handle(
        platform,
        "on_delivery_failed",
        e.DeliveryFailed(**facts, delivery_id=uuid.uuid4(), smtp_code=550, reason="no such user"),
    )

    assert history(platform, org, tenant) == [S.PENDING]
    # The same facts about the invitation's own email do move it: the check above could fail.
    handle(
        platform,
        "on_delivery_failed",
        e.DeliveryFailed(
            **{**facts, "purpose": "invitation"},
            delivery_id=uuid.uuid4(),
            smtp_code=550,
            reason="no such user",
        ),
    )
    assert history(platform, org, tenant) == [S.PENDING, S.BOUNCED]
