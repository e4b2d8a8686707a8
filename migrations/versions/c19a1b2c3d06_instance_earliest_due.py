"""a case's earliest open deadline (issue 17): process_instance.earliest_due_at, the earliest due_at of its
open tasks, filled from the tasks already there, with the index the case list's overdue count reads alone
(ix_process_instance_process_due_unit)

Revision ID: c19a1b2c3d06
Revises: c18a1b2c3d05
Create Date: 2026-11-29 17:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c19a1b2c3d06"
down_revision = "c18a1b2c3d05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("earliest_due_at", sa.DateTime(timezone=True), nullable=True))
    # The cases already there: each one's earliest open deadline, in this migration's transaction.
    op.execute(
        "UPDATE process_instance SET earliest_due_at = (SELECT min(task.due_at) FROM task "
        "WHERE task.instance_id = process_instance.id AND task.state = 'ready')"
    )
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.create_index(
            "ix_process_instance_process_due_unit", ["process_id", "earliest_due_at", "unit_code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_process_due_unit")
        batch_op.drop_column("earliest_due_at")
