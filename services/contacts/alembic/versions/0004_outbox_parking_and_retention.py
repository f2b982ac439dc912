"""the outbox parks an event the broker keeps refusing (attempts, parked_at, error), and the
outbox and inbox get the indexes their retention is pruned by

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from shared.outbox import downgrade_for_parking_and_retention, upgrade_for_parking_and_retention

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_for_parking_and_retention(op, "contacts")


def downgrade() -> None:
    downgrade_for_parking_and_retention(op, "contacts")
