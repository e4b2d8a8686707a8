"""incidents (issue 16): failures of background work, retried then parked

One row per failure of background work on an instance (``workflows/engine/incidents.py``): what failed, where,
when, the retries left and the next one, and who resolved or cancelled it. Indexed by instance and status (the
due query's "held" check, the case page) and by status and next retry (the scheduler's due retries).

Existing rows: an instance the old timer job had marked ``status='error'`` (``error`` text, no next wake-up,
never retried) becomes ``running`` again with a *parked* ``timer`` incident carrying that text, so it shows on
the administrators' page and can be retried (which re-arms its wake-up) or cancelled. The downgrade turns each
instance with an unresolved timer incident back into ``error`` with the incident's message, then drops the
table; instances cancelled through an incident keep their ``cancelled`` status.

Revision ID: c16a0e1a9b01
Revises: a7c3e9f2b6d1
Create Date: 2026-11-29 08:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c16a0e1a9b01"
down_revision = "a7c3e9f2b6d1"
branch_labels = None
depends_on = None

ACTIVE = ("open", "retrying", "parked")
process_instance = sa.table(
    "process_instance",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("error", sa.Text),
    sa.column("next_wake_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade():
    incident = op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("element_id", sa.String(length=100), nullable=True),
        sa.Column("element_name", sa.String(length=200), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retries_left", sa.Integer(), nullable=False),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("retried_by", sa.String(length=64), nullable=True),
        sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index("ix_incident_instance_status", ["instance_id", "status"], unique=False)
        batch_op.create_index("ix_incident_status_retry", ["status", "next_retry_at"], unique=False)

    failed = sa.select(
        process_instance.c.id,
        sa.literal("timer"),
        sa.func.coalesce(process_instance.c.error, ""),
        process_instance.c.updated_at,
        process_instance.c.updated_at,
        sa.literal(1),
        sa.literal(1),
        sa.literal(0),
        sa.literal("parked"),
    ).where(process_instance.c.status == "error")
    op.execute(
        incident.insert().from_select(
            [
                "instance_id",
                "kind",
                "message",
                "created_at",
                "last_failed_at",
                "failures",
                "attempts",
                "retries_left",
                "status",
            ],
            failed,
        )
    )
    op.execute(
        process_instance.update()
        .where(process_instance.c.status == "error")
        .values(status="running", error=None, next_wake_at=None)
    )


def downgrade():
    incident = sa.table(
        "incident",
        sa.column("id", sa.Integer),
        sa.column("instance_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("message", sa.Text),
        sa.column("status", sa.String),
    )
    held = sa.and_(
        incident.c.instance_id == process_instance.c.id,
        incident.c.kind == "timer",
        incident.c.status.in_(ACTIVE),
    )
    message = sa.select(incident.c.message).where(held).order_by(incident.c.id.desc()).limit(1)
    op.execute(
        process_instance.update()
        .where(process_instance.c.status == "running", sa.exists().where(held))
        .values(status="error", error=message.scalar_subquery(), next_wake_at=None)
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_status_retry")
        batch_op.drop_index("ix_incident_instance_status")
    op.drop_table("incident")
