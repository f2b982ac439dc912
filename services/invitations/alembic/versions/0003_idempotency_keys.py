"""idempotency keys of Send Portal Invitation

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "invitations",
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        schema="invitations",
    )
    op.create_index(
        "ux_invitations_idempotency_key",
        "invitations",
        ["organization_id", "sent_by_staff_member_id", "idempotency_key"],
        unique=True,
        schema="invitations",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_invitations_idempotency_key", table_name="invitations", schema="invitations")
    op.drop_column("invitations", "idempotency_key", schema="invitations")
