"""sale and letting progress; the applicant contact of a viewing and of an offer

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_STAGES = (
    "'instructed', 'on_the_market', 'under_offer', 'sold_subject_to_contract', 'exchanged', "
    "'completed', 'let_agreed', 'referencing', 'tenancy_started', 'withdrawn'"
)


def upgrade() -> None:
    op.create_table(
        "marketing_stages",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("property_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("recorded_by_staff_member_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('sale', 'letting')", name="ck_marketing_stages_kind"),
        sa.CheckConstraint(f"stage IN ({_STAGES})", name="ck_marketing_stages_stage"),
        sa.ForeignKeyConstraint(["property_id"], ["properties.properties.id"]),
        sa.PrimaryKeyConstraint("id"),
        schema="properties",
    )
    op.create_index(
        "ix_marketing_stages_property", "marketing_stages", ["property_id", "id"], schema="properties"
    )
    op.add_column(
        "viewings", sa.Column("applicant_contact_id", sa.Uuid(), nullable=True), schema="properties"
    )
    op.create_index(
        "ix_properties_viewings_applicant_contact_id",
        "viewings",
        ["applicant_contact_id"],
        schema="properties",
    )
    op.add_column("offers", sa.Column("offerer_contact_id", sa.Uuid(), nullable=True), schema="properties")
    op.create_index(
        "ix_properties_offers_offerer_contact_id", "offers", ["offerer_contact_id"], schema="properties"
    )


def downgrade() -> None:
    op.drop_index("ix_properties_offers_offerer_contact_id", table_name="offers", schema="properties")
    op.drop_column("offers", "offerer_contact_id", schema="properties")
    op.drop_index("ix_properties_viewings_applicant_contact_id", table_name="viewings", schema="properties")
    op.drop_column("viewings", "applicant_contact_id", schema="properties")
    op.drop_index("ix_marketing_stages_property", table_name="marketing_stages", schema="properties")
    op.drop_table("marketing_stages", schema="properties")
