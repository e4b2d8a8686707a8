"""case lists sort by last change a page at a time (issue 17): index on (process_id, updated_at)

Revision ID: c17d1b2c3d04
Revises: c17c1b2c3d03
Create Date: 2026-11-29 12:10:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c17d1b2c3d04"
down_revision = "c17c1b2c3d03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.create_index("ix_process_instance_process_updated", ["process_id", "updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_process_updated")
