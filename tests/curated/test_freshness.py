"""Realtime rows written outside Dagster are covered by freshness checks on the curated table."""

from __future__ import annotations

import datetime as dt

from psycopg_pool import ConnectionPool

from assets.curated.freshness import freshness_checks
from assets.ingest import realtime_specs
from oee_pipelines.warehouse import TelemetryRecord, WarehouseWriter
from resources import ClockResource, WarehouseResource

NOW = dt.datetime(2026, 11, 23, 6, 10, tzinfo=dt.UTC)


def test_a_realtime_source_is_fresh_until_its_newest_row_is_older_than_its_lag(
    database_url: str, pool: ConnectionPool
) -> None:
    specs = realtime_specs("plc", ["telemetry"], description="A PLC.", max_lag_s=60)
    (check,) = freshness_checks(specs)
    warehouse = WarehouseResource(database_url=database_url)

    def evaluate(now: dt.datetime) -> bool:
        return check(warehouse=warehouse, clock=ClockResource(pinned=now.isoformat())).passed

    assert not evaluate(NOW)  # nothing written yet
    WarehouseWriter(pool).write_telemetry(
        [TelemetryRecord("M1", "temperature", NOW - dt.timedelta(seconds=30), 21.5)], "plc"
    )
    assert evaluate(NOW)
    assert not evaluate(NOW + dt.timedelta(seconds=31))
    # Rows of another source do not make this one fresh.
    WarehouseWriter(pool).write_telemetry(
        [TelemetryRecord("M1", "temperature", NOW + dt.timedelta(seconds=60), 21.7)], "mes"
    )
    assert not evaluate(NOW + dt.timedelta(seconds=61))
