"""Imported files and their rejected rows (contracts.md sections 2 and 4).

Revision ID: 0005_imports
Revises: 0005_mes
Create Date: 2026-11-30
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0005_imports"
down_revision = "0005_mes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0005_imports.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
