"""What changed in the machine data since the rollups last ran, so that they recompute only
that (issue 12, late data).

Revision ID: 0007_rollup_changes
Revises: 0006_rollup
Create Date: 2026-12-01
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0007_rollup_changes"
down_revision = "0006_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0007_rollup_changes.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
