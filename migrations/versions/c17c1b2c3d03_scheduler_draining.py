"""scheduler draining and timer lag (issue 17): one row per timer wake-up (due, fired, lag)

Revision ID: c17c1b2c3d03
Revises: c17b1b2c3d02
Create Date: 2026-11-29 11:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17c1b2c3d03"
down_revision = "c17b1b2c3d02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timer_firing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lag_ms", sa.BigInteger(), nullable=False),
        sa.Column("scheduler", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timer_firing", schema=None) as batch_op:
        batch_op.create_index("ix_timer_firing_instance_id", ["instance_id"], unique=False)
        batch_op.create_index("ix_timer_firing_fired_at", ["fired_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timer_firing", schema=None) as batch_op:
        batch_op.drop_index("ix_timer_firing_fired_at")
        batch_op.drop_index("ix_timer_firing_instance_id")
    op.drop_table("timer_firing")
