"""Sync log: a run whose process died is marked 'abandoned' by the next one.

Revision ID: 0003_sync_log_abandoned
Revises: 0001_foundation
Create Date: 2026-11-30
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0003_sync_log_abandoned"
down_revision = "0002_dead_letters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0003_sync_log_abandoned.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
