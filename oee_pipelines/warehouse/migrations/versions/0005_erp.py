"""ERP: materials, labor confirmations, work-order conflicts between MES and ERP, sync watermarks.

Revision ID: 0005_erp
Revises: 0004_production_context
Create Date: 2026-11-30
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0005_erp"
down_revision = "0004_production_context"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0005_erp.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
