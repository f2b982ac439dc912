"""Who may change data (`properties.scoping.require_editor`): every staff role but viewer."""

from uuid import uuid4

import pytest

from properties.scoping import require_editor
from shared.contracts.common import StaffActor, StaffRole
from shared.contracts.errors import PermissionDenied


def staff(role: StaffRole | None) -> StaffActor:
    return StaffActor(organization_id=uuid4(), staff_member_id=uuid4(), role=role)


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.MANAGER, StaffRole.AGENT])
def test_every_role_but_viewer_may_change_data(role):
    require_editor(staff(role))


@pytest.mark.parametrize("role", [StaffRole.VIEWER, None])
def test_a_viewer_and_an_actor_without_a_role_may_not(role):
    with pytest.raises(PermissionDenied) as refused:
        require_editor(staff(role))
    assert refused.value.code == "permission_denied"
    assert refused.value.message == "Your role can read but not change anything."
