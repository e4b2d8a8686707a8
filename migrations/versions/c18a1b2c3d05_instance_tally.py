"""case counts kept per process, unit, status and level (issue 17): instance_tally, filled from the
instances already there; the overdue open tasks by deadline (ix_task_state_due); c17d's index on a
procedure's cases by last change gets the unit as its third column, so a list filtered to a county checks
the unit in the index (ix_process_instance_process_updated_unit)

Revision ID: c18a1b2c3d05
Revises: c17d1b2c3d04
Create Date: 2026-11-29 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c18a1b2c3d05"
down_revision = "c17d1b2c3d04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_tally",
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=50), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("process_id", "unit_code", "status", "level"),
    )
    # The tallies of the instances already there: one grouped count, in this migration's transaction.
    level = (
        "json_extract(summary, '$.level')"
        if op.get_bind().dialect.name == "sqlite"
        else "(summary::json ->> 'level')"
    )
    op.execute(
        "INSERT INTO instance_tally (process_id, unit_code, status, level, n) "
        f"SELECT process_id, unit_code, status, COALESCE({level}, ''), count(*) FROM process_instance "
        f"GROUP BY process_id, unit_code, status, COALESCE({level}, '')"
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_state_due", ["state", "due_at", "instance_id"])
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_process_updated")
        batch_op.create_index(
            "ix_process_instance_process_updated_unit", ["process_id", "updated_at", "unit_code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_process_updated_unit")
        batch_op.create_index("ix_process_instance_process_updated", ["process_id", "updated_at"])
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_state_due")
    op.drop_table("instance_tally")
