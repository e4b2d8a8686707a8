"""case counts kept per unit and status (issue 17) — placeholder, filled by the case-list work

Revision ID: c18a1b2c3d05
Revises: c17d1b2c3d04
Create Date: 2026-11-29 14:00:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c18a1b2c3d05"
down_revision = "c17d1b2c3d04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
