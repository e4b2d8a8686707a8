"""case search (issue 14): searchable text per case, indexed by trigrams (FTS5 or pg_trgm)

One row per accountability case, indexed by trigrams — an FTS5 ``trigram`` table on SQLite, ``pg_trgm`` with a
GIN ``gin_trgm_ops`` index on PostgreSQL (``workflows/regulation/case_search.py``). Existing cases are
indexed by ``flask cases reindex``.

The downgrade drops the table, the FTS5 table and its triggers, and the index; it leaves the ``pg_trgm``
extension installed (``CREATE EXTENSION IF NOT EXISTS`` may have found it there; others may use it).

Revision ID: a7c3e9f2b6d1
Revises: 790198d885cd
Create Date: 2026-11-29 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e9f2b6d1"
down_revision = "790198d885cd"
branch_labels = None
depends_on = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE case_search_fts USING fts5("
    "text, content='case_search', content_rowid='instance_id', tokenize='trigram')",
    "CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN "
    "INSERT INTO case_search_fts(rowid, text) VALUES (new.instance_id, new.text); END",
    "CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, text) "
    "VALUES ('delete', old.instance_id, old.text); END",
    "CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, text) VALUES ('delete', old.instance_id, old.text); "
    "INSERT INTO case_search_fts(rowid, text) VALUES (new.instance_id, new.text); END",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS case_search_au",
    "DROP TRIGGER IF EXISTS case_search_ad",
    "DROP TRIGGER IF EXISTS case_search_ai",
    "DROP TABLE IF EXISTS case_search_fts",
)


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        "case_search",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_case_search_text_trgm",
            "case_search",
            ["text"],
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.drop_index("ix_case_search_text_trgm", table_name="case_search")
    op.drop_table("case_search")
