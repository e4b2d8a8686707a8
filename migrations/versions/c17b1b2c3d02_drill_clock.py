"""drill mode (issue 15): placeholder for helper h5

Revision ID: c17b1b2c3d02
Revises: c17a1b2c3d01
Create Date: 2026-11-29 11:00:00.000000

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "c17b1b2c3d02"
down_revision = "c17a1b2c3d01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
