"""documents with stored files, their audiences, and maintenance request photos

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_CONTACT_TYPES = "'tenant', 'landlord', 'vendor', 'applicant', 'customer'"
_DOCUMENT_TYPES = "'application/pdf', 'image/png', 'image/jpeg', 'text/plain'"
_PHOTO_TYPES = "'image/png', 'image/jpeg'"


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("lease_id", sa.Uuid(), nullable=True),
        sa.Column("property_id", sa.Uuid(), nullable=True),
        sa.Column("client_group_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by_staff_member_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('invoice', 'quote', 'receipt', 'other')", name="ck_documents_kind"),
        sa.CheckConstraint(f"content_type IN ({_DOCUMENT_TYPES})", name="ck_documents_content_type"),
        sa.CheckConstraint("size_bytes > 0", name="ck_documents_size_positive"),
        sa.CheckConstraint(
            "num_nonnulls(lease_id, property_id, client_group_id) = 1", name="ck_documents_one_scope"
        ),
        sa.ForeignKeyConstraint(["lease_id"], ["properties.leases.id"]),
        sa.ForeignKeyConstraint(["property_id"], ["properties.properties.id"]),
        sa.PrimaryKeyConstraint("id"),
        schema="properties",
    )
    op.create_index("ix_documents_lease_id", "documents", ["lease_id"], unique=False, schema="properties")
    op.create_index(
        "ix_documents_property_id", "documents", ["property_id"], unique=False, schema="properties"
    )
    op.create_index(
        "ix_documents_org_client_group",
        "documents",
        ["organization_id", "client_group_id"],
        unique=False,
        schema="properties",
    )
    op.create_table(
        "document_audiences",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("contact_type", sa.String(length=20), nullable=False),
        sa.CheckConstraint(f"contact_type IN ({_CONTACT_TYPES})", name="ck_document_audiences_contact_type"),
        sa.ForeignKeyConstraint(["document_id"], ["properties.documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "contact_type"),
        schema="properties",
    )
    op.create_table(
        "document_contents",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("content", postgresql.BYTEA(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["properties.documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id"),
        schema="properties",
    )
    op.create_table(
        "maintenance_request_photos",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", postgresql.BYTEA(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            f"content_type IN ({_PHOTO_TYPES})", name="ck_maintenance_request_photos_content_type"
        ),
        sa.CheckConstraint("size_bytes > 0", name="ck_maintenance_request_photos_size_positive"),
        sa.ForeignKeyConstraint(["request_id"], ["properties.maintenance_requests.id"]),
        sa.PrimaryKeyConstraint("request_id"),
        schema="properties",
    )


def downgrade() -> None:
    op.drop_table("maintenance_request_photos", schema="properties")
    op.drop_table("document_contents", schema="properties")
    op.drop_table("document_audiences", schema="properties")
    op.drop_index("ix_documents_org_client_group", table_name="documents", schema="properties")
    op.drop_index("ix_documents_property_id", table_name="documents", schema="properties")
    op.drop_index("ix_documents_lease_id", table_name="documents", schema="properties")
    op.drop_table("documents", schema="properties")
