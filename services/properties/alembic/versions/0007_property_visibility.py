"""visibility settings per property

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "visibility_settings", sa.Column("property_id", sa.Uuid(), nullable=True), schema="properties"
    )
    op.drop_constraint("ck_visibility_settings_one_target", "visibility_settings", schema="properties")
    op.create_check_constraint(
        "ck_visibility_settings_one_target",
        "visibility_settings",
        "(contact_type IS NULL) <> (contact_id IS NULL) "
        "AND (property_id IS NULL OR contact_type IS NOT NULL)",
        schema="properties",
    )
    op.drop_index("ux_visibility_settings_type", table_name="visibility_settings", schema="properties")
    op.create_index(
        "ux_visibility_settings_type",
        "visibility_settings",
        ["organization_id", "subject", "contact_type"],
        unique=True,
        schema="properties",
        postgresql_where=sa.text("contact_type IS NOT NULL AND property_id IS NULL"),
    )
    op.create_index(
        "ux_visibility_settings_property",
        "visibility_settings",
        ["organization_id", "subject", "property_id", "contact_type"],
        unique=True,
        schema="properties",
        postgresql_where=sa.text("property_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM properties.visibility_settings WHERE property_id IS NOT NULL")
    op.drop_index("ux_visibility_settings_property", table_name="visibility_settings", schema="properties")
    op.drop_index("ux_visibility_settings_type", table_name="visibility_settings", schema="properties")
    op.create_index(
        "ux_visibility_settings_type",
        "visibility_settings",
        ["organization_id", "subject", "contact_type"],
        unique=True,
        schema="properties",
        postgresql_where=sa.text("contact_type IS NOT NULL"),
    )
    op.drop_constraint("ck_visibility_settings_one_target", "visibility_settings", schema="properties")
    op.create_check_constraint(
        "ck_visibility_settings_one_target",
        "visibility_settings",
        "(contact_type IS NULL) <> (contact_id IS NULL)",
        schema="properties",
    )
    op.drop_column("visibility_settings", "property_id", schema="properties")
