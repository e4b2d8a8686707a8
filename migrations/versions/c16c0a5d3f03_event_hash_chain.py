"""tamper-evident working file (issue 16): hash-chained events, daily roots

Every ``instance_event`` gets its place in its instance's chain (``seq``, unique with the instance), the
previous event's hash and its own (SHA-256 of the canonical form, ``workflows/engine/audit_chain.py``). The
events already written are chained here in the order they were written (their ids). ``audit_root`` holds each
office's daily root, filled by ``flask audit roots`` and the background pass. The canonical form is copied,
not imported: a migration must not depend on app code that may change after it (a test checks the copy
agrees with the module as of this revision).

Revision ID: c16c0a5d3f03
Revises: c16b0c0a7e02
Create Date: 2026-11-29 08:00:00.000000

"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c16c0a5d3f03"
down_revision = "c16b0c0a7e02"
branch_labels = None
depends_on = None

INSTANCES_PER_BATCH = 500


def _utc_text(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite keeps UTC naive
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(row: Any, seq: int, prev_hash: str | None) -> str:
    """The canonical form of workflows/engine/audit_chain.py as of this revision."""
    body = {
        "instance": row.instance_id,
        "seq": seq,
        "kind": row.kind,
        "actor": row.actor,
        "at": _utc_text(row.at),
        "element": row.element_id,
        "task": row.task_id,
        "detail": row.detail,
        "prev": prev_hash,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chain_existing() -> None:
    events = sa.table(
        "instance_event",
        sa.column("id", sa.Integer),
        sa.column("instance_id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("kind", sa.String),
        sa.column("element_id", sa.String),
        sa.column("task_id", sa.String),
        sa.column("detail", sa.JSON),
        sa.column("seq", sa.Integer),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    conn = op.get_bind()
    update = (
        sa.update(events)
        .where(events.c.id == sa.bindparam("row_id"))
        .values(
            seq=sa.bindparam("new_seq"), prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash")
        )
    )
    instance_ids = list(
        conn.scalars(sa.select(events.c.instance_id).distinct().order_by(events.c.instance_id))
    )
    for lo in range(0, len(instance_ids), INSTANCES_PER_BATCH):  # bounded memory, and SQLite cannot update a
        chunk = instance_ids[lo : lo + INSTANCES_PER_BATCH]  # table while a cursor is still reading it
        rows = conn.execute(
            sa.select(events)
            .where(events.c.instance_id.in_(chunk))
            .order_by(events.c.instance_id, events.c.id)
        ).fetchall()
        pending: list[dict[str, Any]] = []
        instance_id, seq, prev = None, 0, None
        for row in rows:
            if row.instance_id != instance_id:
                instance_id, seq, prev = row.instance_id, 0, None
            seq += 1
            digest = event_hash(row, seq, prev)
            pending.append({"row_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": digest})
            prev = digest
        if pending:
            conn.execute(update, pending)


def upgrade() -> None:
    with op.batch_alter_table("instance_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing()
    with op.batch_alter_table("instance_event", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_instance_event_seq", ["instance_id", "seq"])

    op.create_table(
        "audit_root",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("heads", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_code", "day", name="uq_audit_root_office_day"),
    )
    with op.batch_alter_table("audit_root", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_root_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_root", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_root_day"))
    op.drop_table("audit_root")
    with op.batch_alter_table("instance_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_instance_event_seq", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
