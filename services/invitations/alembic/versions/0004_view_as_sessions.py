"""View As: short-lived read-only sessions of staff looking at the portal as a contact

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "view_as_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_member_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("contact_type", sa.String(length=20), nullable=False),
        sa.Column("contact_name", sa.String(length=201), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
        schema="invitations",
    )
    op.create_index(
        op.f("ix_invitations_view_as_sessions_staff_member_id"),
        "view_as_sessions",
        ["staff_member_id"],
        schema="invitations",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_invitations_view_as_sessions_staff_member_id"),
        table_name="view_as_sessions",
        schema="invitations",
    )
    op.drop_table("view_as_sessions", schema="invitations")
