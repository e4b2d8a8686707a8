"""startable procedures (issue 15): placeholder for helper h1

Revision ID: c17a1b2c3d01
Revises: c16d0f4b8e04
Create Date: 2026-11-29 11:00:00.000000

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "c17a1b2c3d01"
down_revision = "c16d0f4b8e04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
