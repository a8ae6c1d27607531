"""Shift breaks, each site's loss model and the data quality issues of the rollups
(contracts.md sections 2 and 3).

Revision ID: 0006_rollup
Revises: 0005_imports
Create Date: 2026-11-30
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0006_rollup"
down_revision = "0005_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0006_rollup.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
