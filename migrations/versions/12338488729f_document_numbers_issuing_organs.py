"""document numbers (文号) per issuing organ and year, with the organs as data (issue 13)

Revision ID: 12338488729f
Revises: f3b8c6d2a4e1
Create Date: 2026-11-29 06:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "12338488729f"
down_revision = "f3b8c6d2a4e1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "issuing_organ",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("short_mark", sa.String(length=20), nullable=False),
        sa.Column("organ_mark", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["org_code"], ["org_unit.code"]),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("org_code", "kind", name="uq_issuing_organ_org_kind"),
        sa.UniqueConstraint("short_mark", name="uq_issuing_organ_short_mark"),
    )
    op.create_table(
        "document_number_counter",
        sa.Column("organ_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organ_code"], ["issuing_organ.code"]),
        sa.PrimaryKeyConstraint("organ_code", "year"),
    )
    op.create_table(
        "document_number",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organ_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.String(length=100), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["organ_code"], ["issuing_organ.code"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organ_code", "year", "seq", name="uq_document_number_organ_year_seq"),
    )
    op.create_index("ix_document_number_instance_id", "document_number", ["instance_id"])


def downgrade():
    op.drop_index("ix_document_number_instance_id", table_name="document_number")
    op.drop_table("document_number")
    op.drop_table("document_number_counter")
    op.drop_table("issuing_organ")
