"""MES sync: changeovers derived from work orders (the watermarks table comes with 0005_erp).

Revision ID: 0005_mes
Revises: 0005_erp
Create Date: 2026-11-30
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0005_mes"
down_revision = "0005_erp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0005_mes.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
