"""rectification items (Art. 18, 20), committee meetings and the plenary flag (Art. 7(2), 24, 25)

Revision ID: 2ab6b305b39d
Revises: 21727a31fc82
Create Date: 2026-11-30 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "2ab6b305b39d"
down_revision = "21727a31fc82"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rectification_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("source_instance_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=100), nullable=False),
        sa.Column("committee_code", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("owner_post", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["committee_code"], ["org_unit.code"]),
        sa.ForeignKeyConstraint(["source_instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["unit_code"], ["org_unit.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rectification_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rectification_item_source_instance_id"), ["source_instance_id"], unique=False
        )
        batch_op.create_index("ix_rectification_item_status_deadline", ["status", "deadline"], unique=False)
        batch_op.create_index("ix_rectification_item_unit_status", ["unit_code", "status"], unique=False)

    op.create_table(
        "committee_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_code", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("regularity", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("chaired_by", sa.String(length=100), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("observers", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["committee_code"], ["org_unit.code"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("committee_meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_committee_meeting_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(
            "ix_committee_meeting_committee_year_kind", ["committee_code", "year", "kind"], unique=False
        )

    op.create_table(
        "meeting_duty_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=30), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_instance_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["committee_code"], ["org_unit.code"]),
        sa.ForeignKeyConstraint(["resolved_by_instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("committee_code", "year", "duty"),
    )


def downgrade():
    op.drop_table("meeting_duty_flag")
    with op.batch_alter_table("committee_meeting", schema=None) as batch_op:
        batch_op.drop_index("ix_committee_meeting_committee_year_kind")
        batch_op.drop_index(batch_op.f("ix_committee_meeting_instance_id"))
    op.drop_table("committee_meeting")
    with op.batch_alter_table("rectification_item", schema=None) as batch_op:
        batch_op.drop_index("ix_rectification_item_unit_status")
        batch_op.drop_index("ix_rectification_item_status_deadline")
        batch_op.drop_index(batch_op.f("ix_rectification_item_source_instance_id"))
    op.drop_table("rectification_item")
