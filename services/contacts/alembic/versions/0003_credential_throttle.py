"""the credential throttle: leaky buckets per (email, client) and per client, in place of the
lock per email (which let anyone who knew an email lock its owner out)

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
    op.drop_table("login_throttle", schema="contacts")
    op.create_table(
        "credential_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("empty_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        schema="contacts",
    )
    op.create_index("ix_credential_throttle_empty_at", "credential_throttle", ["empty_at"], schema="contacts")


def downgrade() -> None:
    op.drop_index("ix_credential_throttle_empty_at", table_name="credential_throttle", schema="contacts")
    op.drop_table("credential_throttle", schema="contacts")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
        schema="contacts",
    )
