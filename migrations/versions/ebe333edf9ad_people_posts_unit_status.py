"""people and posts, unit status; accounts linked to persons, grants following posts

Revision ID: ebe333edf9ad
Revises: b7c41e2d9a10
Create Date: 2026-11-29 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "ebe333edf9ad"
down_revision = "b7c41e2d9a10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("gender", sa.String(length=10), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_name"), ["name"], unique=False)

    op.create_table(
        "post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["org_code"], ["org_unit.code"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index("ix_post_org_kind", ["org_code", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_person_id"), ["person_id"], unique=False)

    op.create_table(
        "org_unit_status",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["code"], ["org_unit.code"]),
        sa.PrimaryKeyConstraint("code"),
    )

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_account_person_id"), ["person_id"], unique=False)
        batch_op.create_foreign_key("fk_user_account_person_id_person", "person", ["person_id"], ["id"])

    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_role_grant_post_id"), ["post_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_role_grant_post_id_post", "post", ["post_id"], ["id"], ondelete="CASCADE"
        )


def downgrade():
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.drop_constraint("fk_role_grant_post_id_post", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_role_grant_post_id"))
        batch_op.drop_column("post_id")

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint("fk_user_account_person_id_person", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_user_account_person_id"))
        batch_op.drop_column("person_id")

    op.drop_table("org_unit_status")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_person_id"))
        batch_op.drop_index("ix_post_org_kind")
    op.drop_table("post")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_name"))
    op.drop_table("person")
