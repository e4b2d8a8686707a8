"""record entries: the performance record per cadre (Art. 22)

Revision ID: d1e5a9c3b7f2
Revises: c4d2e8f1a7b3
Create Date: 2026-11-29 03:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d1e5a9c3b7f2"
down_revision = "c4d2e8f1a7b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "record_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("document_no", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_code"], ["org_unit.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_entry_person_id", "record_entry", ["person_id"])
    op.create_index("ix_record_entry_unit_year", "record_entry", ["unit_code", "year"])


def downgrade():
    op.drop_index("ix_record_entry_unit_year", table_name="record_entry")
    op.drop_index("ix_record_entry_person_id", table_name="record_entry")
    op.drop_table("record_entry")
