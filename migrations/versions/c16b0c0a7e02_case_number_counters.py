"""case numbers (issue 16): a per-year counter row taken under lock

Business keys were "count + 1" of the keys with the same prefix, so two openings at once took the same
number. The ``counter`` table holds the last number per process and prefix (``workflows/engine/counters.py``);
it is seeded here from the keys already given, so numbering goes on after the highest existing number.

Revision ID: c16b0c0a7e02
Revises: c16a0e1a9b01
Create Date: 2026-11-29 08:00:00.000000

"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c16b0c0a7e02"
down_revision = "c16a0e1a9b01"
branch_labels = None
depends_on = None

# The processes whose business keys are numbered (prefix + zero-padded number), as of this revision:
# 追责-2026-0001, 督查-/会议-/征求意见-2026-411302-0001, 报送-2026-CD01-0001. Copied, not imported: a
# migration must not depend on app code that may change after it.
NUMBERED_PROCESSES = (
    "accountability_case",
    "inspection",
    "meeting",
    "promotion_consultation",
    "annual_report_filing",
)
NUMBERED_KEY = re.compile(r"^(?P<prefix>.+-)(?P<number>\d+)$")


def upgrade() -> None:
    counter = op.create_table(
        "counter",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    instances = sa.table("process_instance", sa.column("process_id"), sa.column("business_key"))
    rows = op.get_bind().execute(
        sa.select(instances.c.process_id, instances.c.business_key).where(
            instances.c.process_id.in_(NUMBERED_PROCESSES)
        )
    )
    highest: dict[str, int] = {}
    for process_id, business_key in rows:
        match = NUMBERED_KEY.match(business_key or "")
        if match:  # same name as workflows.engine.counters.counter_name
            name = f"{process_id}:{match['prefix']}"
            highest[name] = max(highest.get(name, 0), int(match["number"]))
    if highest:
        op.bulk_insert(counter, [{"name": n, "last_number": v} for n, v in sorted(highest.items())])


def downgrade() -> None:
    op.drop_table("counter")
