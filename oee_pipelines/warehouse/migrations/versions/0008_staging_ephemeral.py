"""Drop the staging views of earlier dbt builds: those staging models are ephemeral now (issue 12,
the incremental update's speed). They became views again later (a build leaves out the views
the warehouse holds from their current SQL): the next build creates them anew.

Revision ID: 0008_staging_ephemeral
Revises: 0007_rollup_changes
Create Date: 2026-12-01
"""

from oee_pipelines.warehouse.migrate import run_sql

revision = "0008_staging_ephemeral"
down_revision = "0007_rollup_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0008_staging_ephemeral.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
