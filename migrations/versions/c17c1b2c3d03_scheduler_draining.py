"""scheduler draining and timer lag (issue 17): placeholder for helper h7

Revision ID: c17c1b2c3d03
Revises: c17b1b2c3d02
Create Date: 2026-11-29 11:00:00.000000

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "c17c1b2c3d03"
down_revision = "c17b1b2c3d02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
