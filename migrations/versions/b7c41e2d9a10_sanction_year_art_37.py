"""sanction year (Art. 37): a veto's consequences are recorded with their year

Revision ID: b7c41e2d9a10
Revises: 9af207588300
Create Date: 2026-11-29 02:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7c41e2d9a10"
down_revision = "9af207588300"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sanction") as batch_op:
        batch_op.add_column(sa.Column("year", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("sanction") as batch_op:
        batch_op.drop_column("year")
