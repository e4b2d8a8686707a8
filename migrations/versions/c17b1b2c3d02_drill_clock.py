"""drill mode (issue 15): the drill database's mark and its clock

Revision ID: c17b1b2c3d02
Revises: c16d0f4b8e04
Create Date: 2026-11-29 11:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17b1b2c3d02"
down_revision = "c16d0f4b8e04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every database gets the (empty) table; only a drill database has its row (app/drill/models.py).
    op.create_table(
        "drill_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("seeded_from", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("now", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moved_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moved_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("drill_clock")
