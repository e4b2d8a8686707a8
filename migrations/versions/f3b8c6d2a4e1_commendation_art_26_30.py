"""commendation: awards and the special reward fund's allocations (Art. 26-30)

Revision ID: f3b8c6d2a4e1
Revises: d1e5a9c3b7f2
Create Date: 2026-11-29 05:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3b8c6d2a4e1"
down_revision = "d1e5a9c3b7f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "commendation_award",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("committee_code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("person_name", sa.String(length=50), nullable=True),
        sa.Column("post", sa.String(length=100), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.String(length=2000), nullable=False),
        sa.Column("document_no", sa.String(length=100), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["committee_code"], ["org_unit.code"]),
        sa.ForeignKeyConstraint(["unit_code"], ["org_unit.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_commendation_award_instance_id", "commendation_award", ["instance_id"])
    op.create_index("ix_commendation_award_unit_code", "commendation_award", ["unit_code"])
    op.create_table(
        "reward_allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("committee_code", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("document_no", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["committee_code"], ["org_unit.code"]),
        sa.ForeignKeyConstraint(["unit_code"], ["org_unit.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reward_allocation_instance_id", "reward_allocation", ["instance_id"])


def downgrade():
    op.drop_index("ix_reward_allocation_instance_id", table_name="reward_allocation")
    op.drop_table("reward_allocation")
    op.drop_index("ix_commendation_award_unit_code", table_name="commendation_award")
    op.drop_index("ix_commendation_award_instance_id", table_name="commendation_award")
    op.drop_table("commendation_award")
