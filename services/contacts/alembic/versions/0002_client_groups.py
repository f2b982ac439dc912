"""client groups (with parent groups) and their authorised accounts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_client_groups_not_own_parent"),
        sa.ForeignKeyConstraint(["organization_id"], ["contacts.organizations.id"]),
        sa.ForeignKeyConstraint(
            ["parent_id", "organization_id"],
            ["contacts.client_groups.id", "contacts.client_groups.organization_id"],
            name="fk_client_groups_parent_same_organization",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id", "organization_id", name="uq_client_groups_id_organization"),
        schema="contacts",
    )
    op.create_index("ix_client_groups_parent_id", "client_groups", ["parent_id"], schema="contacts")
    op.create_index(
        "uq_client_groups_org_name",
        "client_groups",
        ["organization_id", sa.text("lower(name)")],
        unique=True,
        schema="contacts",
    )
    op.create_table(
        "client_group_members",
        sa.Column("client_group_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("added_by_staff_member_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_group_id"], ["contacts.client_groups.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.contacts.id"]),
        sa.ForeignKeyConstraint(["added_by_staff_member_id"], ["contacts.staff_members.id"]),
        sa.PrimaryKeyConstraint("client_group_id", "contact_id"),
        schema="contacts",
    )
    op.create_index(
        op.f("ix_contacts_client_group_members_contact_id"),
        "client_group_members",
        ["contact_id"],
        schema="contacts",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_contacts_client_group_members_contact_id"),
        table_name="client_group_members",
        schema="contacts",
    )
    op.drop_table("client_group_members", schema="contacts")
    op.drop_index("uq_client_groups_org_name", table_name="client_groups", schema="contacts")
    op.drop_index("ix_client_groups_parent_id", table_name="client_groups", schema="contacts")
    op.drop_table("client_groups", schema="contacts")
