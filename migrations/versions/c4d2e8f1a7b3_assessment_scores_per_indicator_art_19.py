"""assessment scores per indicator (Art. 19): the year's indicator set decides what is scored

Revision ID: c4d2e8f1a7b3
Revises: 2ab6b305b39d
Create Date: 2026-11-29 03:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4d2e8f1a7b3"
down_revision = "2ab6b305b39d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assessment_result") as batch_op:
        batch_op.add_column(sa.Column("scores", sa.JSON(), nullable=True))
        batch_op.alter_column("overall_score", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("letter_score", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("execution_score", existing_type=sa.Float(), nullable=True)


def downgrade():
    with op.batch_alter_table("assessment_result") as batch_op:
        batch_op.alter_column("execution_score", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("letter_score", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("overall_score", existing_type=sa.Float(), nullable=False)
        batch_op.drop_column("scores")
