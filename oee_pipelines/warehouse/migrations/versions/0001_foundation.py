"""Foundation: schemas, ISA-95 hierarchy, shift calendar, machine states, counts, telemetry, audit.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-26
"""

from oee_pipelines.warehouse.migrate import run_sql, timescaledb_enabled

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0001_foundation.sql")
    if timescaledb_enabled():
        run_sql("0001_telemetry.sql", partition_by="")
        run_sql("0001_telemetry_hypertable.sql")
    else:
        run_sql("0001_telemetry.sql", partition_by="PARTITION BY RANGE (ts)")
        run_sql("0001_telemetry_partitioned.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is migrated forward only")
