"""the credential throttle: leaky buckets per (email, client) and per client, in place of the
lock per email (which let anyone who knew an email lock its owner out); answered forgot-password
requests found by when they were answered, for pruning

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("login_throttle", schema="invitations")
    op.create_table(
        "credential_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("empty_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        schema="invitations",
    )
    op.create_index(
        "ix_credential_throttle_empty_at", "credential_throttle", ["empty_at"], schema="invitations"
    )
    op.create_index(
        op.f("ix_invitations_password_reset_requests_processed_at"),
        "password_reset_requests",
        ["processed_at"],
        schema="invitations",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_invitations_password_reset_requests_processed_at"),
        table_name="password_reset_requests",
        schema="invitations",
    )
    op.drop_index("ix_credential_throttle_empty_at", table_name="credential_throttle", schema="invitations")
    op.drop_table("credential_throttle", schema="invitations")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
        schema="invitations",
    )
