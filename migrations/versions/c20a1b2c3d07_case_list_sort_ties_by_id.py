"""the case lists' sort index breaks ties by id (process_id, updated_at, id, unit_code), so a page of cases a
batch changed at the same instant neither repeats nor skips a case when the list pages on

Revision ID: c20a1b2c3d07
Revises: c19a1b2c3d06
Create Date: 2026-11-29 20:20:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c20a1b2c3d07"
down_revision = "c19a1b2c3d06"
branch_labels = None
depends_on = None

INDEX = "ix_process_instance_process_updated_unit"


def upgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.create_index(INDEX, ["process_id", "updated_at", "id", "unit_code"])


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.create_index(INDEX, ["process_id", "updated_at", "unit_code"])
