"""Index the machine states by their end, so that the hourly rollup reads only the states of its
window instead of the whole history (issue 12, the incremental update's speed).

Revision ID: 0009_machine_state_end
Revises: 0008_staging_ephemeral
Create Date: 2026-12-01
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0009_machine_state_end"
down_revision = "0008_staging_ephemeral"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0009_machine_state_end.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
