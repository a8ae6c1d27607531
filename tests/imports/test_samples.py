"""The sample files `oee demo` drops load into the demo plant through the sensor and the job."""

from __future__ import annotations

from dagster import DagsterInstance, Definitions, define_asset_job

from assets.files.assets import file_import
from assets.files.samples import import_samples
from oee_pipelines.warehouse import open_pool
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from resources import ClockResource, WarehouseResource
from resources.files import FileDropResource
from sensors.files import IMPORT_JOB
from tests.imports.conftest import NOW


def test_the_samples_import_with_one_reported_bad_reading(database_url, plant, tmp_path, query):
    with open_pool(database_url) as pool, pool.connection() as conn:
        upsert_hierarchy(conn, plant)
    definitions = Definitions(
        assets=[file_import],
        jobs=[define_asset_job(IMPORT_JOB, selection=[file_import])],
        resources={
            "files": FileDropResource(folder=str(tmp_path)),
            "warehouse": WarehouseResource(database_url=database_url),
            "clock": ClockResource(pinned=NOW.isoformat()),
        },
    )
    with DagsterInstance.ephemeral() as instance:
        assert import_samples(definitions, instance) == []
        assert import_samples(definitions, instance) == []  # again: nothing twice
    assert query(
        "SELECT file_name, template, status, rows_loaded, rows_rejected FROM curated.import_file"
        " ORDER BY file_name"
    ) == [
        ("downtime.csv", "downtime", "loaded", 3, 0),
        ("production_counts.csv", "production_counts", "loaded", 3, 0),
        ("schedule.xlsx", "schedule", "loaded", 3, 0),
        ("sensor_log.csv", "sensor_log", "partial", 5, 1),
    ]
    assert query("SELECT row_number, column_name, reason_category FROM curated.import_reject") == [
        (7, "value", "bad_number")
    ]
    assert query("SELECT count(*) FROM curated.telemetry") == [(5,)]
    assert query("SELECT count(*) FROM curated.work_order") == [(3,)]
    assert not list((tmp_path / "inbox").glob("*.*"))
