"""Dead letters kept exactly and stored once; telemetry partitions for the given days only.

Revision ID: 0002_dead_letters
Revises: 0001_foundation
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from oee_pipelines.warehouse.migrate import run_sql

revision = "0002_dead_letters"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0002_dead_letters.sql")
    # Plain PostgreSQL (0001_telemetry_partitioned.sql), not a TimescaleDB hypertable.
    partitioned = "SELECT to_regclass('curated.telemetry_default') IS NOT NULL"
    if op.get_bind().scalar(sa.text(partitioned)):
        run_sql("0002_telemetry_partitioned.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
