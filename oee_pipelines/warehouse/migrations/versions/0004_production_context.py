"""Production context: work orders, recipe versions, downtime events, operator shift assignments;
and the output machine of a line in series.

Revision ID: 0004_production_context
Revises: 0003_sync_log_abandoned
Create Date: 2026-11-30
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0004_production_context"
down_revision = "0003_sync_log_abandoned"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0004_production_context.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
