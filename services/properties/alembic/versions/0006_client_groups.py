"""a property's client group

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("properties", sa.Column("client_group_id", sa.Uuid(), nullable=True), schema="properties")
    op.create_index(
        op.f("ix_properties_properties_client_group_id"),
        "properties",
        ["client_group_id"],
        unique=False,
        schema="properties",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_properties_properties_client_group_id"), table_name="properties", schema="properties"
    )
    op.drop_column("properties", "client_group_id", schema="properties")
