"""`oee templates` and `oee import` as a user runs them, in a subprocess."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from oee_pipelines.warehouse.urls import database_name
from tests.platform.test_cli import oee
from tests.support.database import drop_database


@pytest.fixture
def oee_env(tmp_path: Path, plant_pool, database_url: str, server_url: str) -> Iterator[dict]:
    """`oee` on this test's warehouse; the Dagster database it adds is dropped."""
    env = {"OEE_DATABASE_URL": database_url, "OEE_HOME": str(tmp_path / "home")}
    os.environ.pop("DAGSTER_HOME", None)
    yield env
    drop_database(server_url, f"{database_name(database_url)}_dagster")


def test_a_filled_in_template_imports_and_a_dry_run_writes_nothing(tmp_path, oee_env, query):
    result = oee("templates", str(tmp_path / "templates"))
    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in (tmp_path / "templates").iterdir())
    assert names == sorted(f"{t}.{ext}" for t in ("downtime", "sensor_log",
                           "production_counts", "schedule") for ext in ("csv", "xlsx"))  # fmt: skip
    book = load_workbook(tmp_path / "templates" / "downtime.xlsx")
    sheet = book.active
    assert sheet is not None and sheet.data_validations.dataValidation  # the category drop-down
    sheet.append(["S1", "L1", "M1", "2026-11-20 10:00", "2026-11-20 10:30", "R1", "Jam",
                  "unplanned", None])  # fmt: skip
    sheet.append(["S1", "L1", "M1", "2026-11-20 11:00", "2026-11-20 10:30", "R1", "Jam",
                  "unplanned", None])  # fmt: skip
    book.save(tmp_path / "stops.xlsx")

    dry = oee("import", str(tmp_path / "stops.xlsx"), "--dry-run", env=oee_env)
    assert dry.returncode == 0, dry.stderr
    assert "row 4, column end_time: end_before_start" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    assert query("SELECT count(*) FROM curated.downtime_event") == [(0,)]

    real = oee("import", str(tmp_path / "stops.xlsx"), "--template", "downtime", env=oee_env)
    assert real.returncode == 0, real.stderr
    assert query("SELECT count(*) FROM curated.downtime_event") == [(1,)]


def test_a_file_rejected_whole_exits_1(tmp_path, oee_env):
    (tmp_path / "notes.csv").write_text("just,some\nnotes,here\n")
    result = oee("import", str(tmp_path / "notes.csv"), env=oee_env)
    assert result.returncode == 1
    assert "the whole file is rejected" in result.stdout
    unknown = oee("import", str(tmp_path / "notes.csv"), "--template", "nope", env=oee_env)
    assert unknown.returncode == 1 and "unknown template 'nope'" in unknown.stderr
