"""The drop folder: the sensor offers each complete file once, the run imports and files it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context, materialize

from assets.files.assets import file_import
from assets.partitions import IMPORT_FILES
from oee_pipelines.imports import content_hash
from resources import ClockResource, WarehouseResource
from resources.files import FileDropResource
from sensors.files import file_drop_sensor
from tests.imports.conftest import NOW, csv

COUNTS = csv(
    "site,line,machine,start_time,end_time,good_count,reject_count",
    "S1,L1,M1,2026-11-20 10:00,2026-11-20 11:00,100,2",
)


@pytest.fixture
def files(tmp_path: Path) -> FileDropResource:
    resource = FileDropResource(folder=str(tmp_path))
    (resource.inbox / "downtime").mkdir(parents=True)
    return resource


def _tick(files: FileDropResource, cursor: str | None = None) -> SensorResult:
    context = build_sensor_context(cursor=cursor, resources={"files": files})
    result = file_drop_sensor(context)
    assert isinstance(result, SensorResult)
    return result


def _drop(files: FileDropResource, name: str, data: bytes) -> Path:
    path = files.inbox / name
    path.write_bytes(data)
    return path


def test_a_file_is_offered_once_it_is_stable_and_only_once(files):
    _drop(files, "counts.csv", COUNTS)
    first = _tick(files)
    assert first.run_requests == []  # seen once: it may still be being written
    second = _tick(files, first.cursor)
    [request] = second.run_requests
    assert request.partition_key == content_hash(COUNTS)
    assert request.run_config == {"ops": {"file_import": {"config": {"path": "counts.csv"}}}}
    [added] = second.dynamic_partitions_requests
    assert added.partition_keys == [content_hash(COUNTS)]
    assert _tick(files, second.cursor).run_requests == []


def test_a_file_still_being_written_waits(files):
    path = _drop(files, "counts.csv", COUNTS[:20])
    first = _tick(files)
    with path.open("ab") as stream:
        stream.write(COUNTS[20:])
    second = _tick(files, first.cursor)
    assert second.run_requests == []
    assert len(_tick(files, second.cursor).run_requests) == 1


def test_the_cursor_survives_a_restart(files):
    _drop(files, "counts.csv", COUNTS)
    first = _tick(files)
    requested = _tick(files, first.cursor)
    assert len(requested.run_requests) == 1
    # A new process (a restarted daemon) starts from the stored cursor, not from scratch.
    restarted = build_sensor_context(cursor=requested.cursor, resources={"files": files})
    result = file_drop_sensor(restarted)
    assert isinstance(result, SensorResult) and result.run_requests == []


def test_lock_and_temporary_files_are_ignored_and_template_folders_name_the_template(files):
    _drop(files, "~$book.xlsx", b"lock")
    _drop(files, ".~lock.book.ods#", b"lock")
    _drop(files, "upload.csv.part", COUNTS)
    _drop(files, "downtime/stops.csv", b"x")
    os.symlink("/etc/passwd", files.inbox / "link.csv")
    result = _tick(files, _tick(files).cursor)
    [request] = result.run_requests
    assert request.run_config["ops"]["file_import"]["config"] == {
        "path": "downtime/stops.csv",
        "template": "downtime",
    }


def _run(files: FileDropResource, database_url: str, name: str, data: bytes):
    key = content_hash(data)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(IMPORT_FILES.name, [key])  # what the sensor asks for
        return materialize(
            [file_import],
            partition_key=key,
            instance=instance,
            run_config={"ops": {"file_import": {"config": {"path": name}}}},
            resources={
                "files": files,
                "warehouse": WarehouseResource(database_url=database_url),
                "clock": ClockResource(pinned=NOW.isoformat()),
            },
        )


def test_an_imported_file_is_archived_and_its_rows_counted(files, plant_pool, database_url, query):
    _drop(files, "counts.csv", COUNTS)
    result = _run(files, database_url, "counts.csv", COUNTS)
    assert result.success
    assert not (files.inbox / "counts.csv").exists()
    assert [p.name for p in (Path(files.folder) / "archive").iterdir()] == [
        f"{content_hash(COUNTS)[:12]}-counts.csv"
    ]
    [check] = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["rows_rejected"].value == 0
    assert query("SELECT count(*) FROM curated.production_count") == [(1,)]
    assert query("SELECT actor, operation, status FROM audit.sync_log") == [
        ("dagster", "import", "success")
    ]


def test_a_file_rejected_whole_is_quarantined_beside_its_report(files, plant_pool, database_url):
    data = b"these are not the columns you are looking for\n1,2\n"
    _drop(files, "notes.csv", data)
    result = _run(files, database_url, "notes.csv", data)
    assert result.success
    quarantine = Path(files.folder) / "quarantine"
    stored = quarantine / f"{content_hash(data)[:12]}-notes.csv"
    assert stored.read_bytes() == data
    report = Path(f"{stored}.report.txt").read_text()
    assert "the whole file is rejected" in report and "no header row" in report
    [check] = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["status"].value == "rejected"


def test_a_file_with_rejected_rows_is_archived_with_its_report(files, plant_pool, database_url):
    data = COUNTS + b"S1,L1,M1,2026-11-20 12:00,2026-11-20 11:00,1,0\n"
    _drop(files, "counts.csv", data)
    result = _run(files, database_url, "counts.csv", data)
    [check] = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["rows_rejected"].value == 1
    report = next((Path(files.folder) / "archive").glob("*.report.txt")).read_text()
    assert "row 3, column end_time: end_before_start" in report
