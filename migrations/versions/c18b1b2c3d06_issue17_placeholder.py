"""reserved (issue 17) — placeholder for the timer/province work

Revision ID: c18b1b2c3d06
Revises: c18a1b2c3d05
Create Date: 2026-11-29 14:00:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c18b1b2c3d06"
down_revision = "c18a1b2c3d05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
