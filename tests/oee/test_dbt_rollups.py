"""The dbt rollups as a function of their inputs: now pinned by the run, the shift calendar bounded
by the machine data, and the dbt assets reporting what they built."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult, TableSchemaMetadataValue
from psycopg.rows import dict_row

from assets.oee.assets import OeeRollupConfig
from oee_pipelines.dbt_project import DBT_EXECUTABLE, dbt_run_env
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.settings import DBT_PROJECT_DIR
from oee_pipelines.warehouse.urls import database_name
from resources import ClockResource
from simulator import SimulatedPlant
from tests.support.database import create_database, drop_database
from tests.support.pipeline import (
    SEED,
    materialize_unpartitioned,
    rebuild_rollups,
    write_simulated_context,
)

# A Monday morning (UTC): Berlin's early shift has run for 70 minutes, Chicago had no Sunday.
MONDAY_0610 = dt.datetime(2026, 11, 23, 6, 10, tzinfo=dt.UTC)
MEASURES = (
    "planned_production_s", "run_s", "planned_downtime_s", "unplanned_downtime_s", "ideal_run_s",
    "total_count", "good_count", "reject_count", "availability", "performance", "quality", "oee",
)  # fmt: skip


def _materialize(database_url: str, days: int) -> ExecuteInProcessResult:
    """Everything, with `days` of history up to MONDAY_0610 and the rollups as of then."""
    now = MONDAY_0610.isoformat()
    run_config = {"ops": {"simulator_history": {"config": {"days": days}}}}
    result = materialize_unpartitioned(database_url, now, run_config)
    assert result.success
    return result


def _rebuild_rollups(database_url: str) -> None:
    """The dbt models alone as of MONDAY_0610, as the hourly schedule rebuilds them."""
    rebuild_rollups(database_url, MONDAY_0610.isoformat())


def _rows(database_url: str, query: str, params: tuple = ()) -> list[dict]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def monday(
    server_url: str, template_url: str, dbt_manifest
) -> Iterator[tuple[str, ExecuteInProcessResult]]:
    """Two days of history up to Monday 06:10 UTC, rolled up with now pinned to that instant."""
    url = create_database(server_url, template=database_name(template_url))
    try:
        result = _materialize(url, days=2)
        write_simulated_context(url, 2, MONDAY_0610)  # the orders' actuals, the maintenance plan
        _rebuild_rollups(url)
        yield url, result
    finally:
        drop_database(server_url, database_name(url))


def test_pinned_now_rolls_up_to_that_instant_whatever_the_wall_clock(
    monday, plant: PlantModel
) -> None:
    url, _ = monday
    rows = _rows(url, "SELECT * FROM curated.oee_machine_shift ORDER BY machine_id, period_start")
    assert max(row["period_end"] for row in rows) == MONDAY_0610
    in_progress = {row["machine_id"] for row in rows if row["period_end"] == MONDAY_0610}
    berlin = {machine.id for site, _, machine in plant.machines() if site.id == "BER"}
    assert in_progress == berlin  # Berlin's early shift began at 05:00 UTC; Chicago's at 13:00
    truth_plant = SimulatedPlant(plant, seed=SEED)
    for row in rows:
        truth = truth_plant.truth(row["machine_id"], row["period_start"], row["period_end"])
        for measure in MEASURES:
            assert row[measure] == pytest.approx(getattr(truth, measure), rel=1e-9, abs=1e-6), (
                f"{row['machine_id']} {row['period_start']}: {measure}"
            )
    # Every shift of a line is rolled up once (an `unscheduled` row starts where its own machine
    # first ran outside the shifts, so those differ from machine to machine).
    lines = _rows(
        url,
        "SELECT line_id, period_start FROM curated.oee_line_shift"
        " WHERE shift_name <> 'unscheduled'",
    )
    shifts = {
        (row["line_id"], row["period_start"]) for row in rows if row["shift_name"] != "unscheduled"
    }
    assert len(lines) == len(shifts)


def test_dbt_assets_report_row_counts_and_columns_with_their_comments(monday) -> None:
    url, result = monday
    materializations = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.asset_materializations_for_node("oee_dbt_models")
    }
    for table in ("curated/shift", "curated/oee_machine_shift", "curated/oee_line_shift"):
        metadata = materializations[table]
        relation = table.replace("/", ".")
        assert (
            metadata["dagster/row_count"].value
            == _rows(url, f"SELECT count(*) AS n FROM {relation}")[0]["n"]
            > 0
        )
        schema = metadata["dagster/column_schema"]
        assert isinstance(schema, TableSchemaMetadataValue)
        columns = _rows(
            url,
            "SELECT column_name, col_description(%s::regclass, ordinal_position) AS comment"
            " FROM information_schema.columns WHERE table_schema || '.' || table_name = %s"
            " ORDER BY ordinal_position",
            (relation, relation),
        )
        assert [c.name for c in schema.schema.columns] == [c["column_name"] for c in columns]
        assert all(c["comment"] for c in columns), relation  # persist_docs wrote every column
        assert [c.description for c in schema.schema.columns] == [c["comment"] for c in columns]
    assert (
        len(materializations["curated/oee_machine_shift"]["dagster/column_schema"].schema.columns)
        == 20
    )
    # Views report their columns but are not counted: counting a view runs its query.
    view = materializations["staging/stg_machine_data__telemetry"]
    assert "dagster/row_count" not in view and "dagster/column_schema" in view


def test_a_build_leaves_out_the_views_that_are_unchanged(monday) -> None:
    """An unchanged view is not rebuilt but reported as it is, with its columns, so that the UI
    shows every view as current as its inputs."""
    url, _ = monday
    now = MONDAY_0610.isoformat()

    def unchanged(result: ExecuteInProcessResult) -> dict[str, Mapping[str, Any]]:
        return {
            m.asset_key.path[1]: m.metadata
            for m in result.asset_materializations_for_node("oee_dbt_models")
            if "unchanged_view" in m.metadata
        }

    def built(result: ExecuteInProcessResult) -> set[str]:
        keys = {m.asset_key for m in result.asset_materializations_for_node("oee_dbt_models")}
        return {key.path[1] for key in keys} - set(unchanged(result))

    views = {"stg_plant__site", "stg_machine_data__machine_state", "stg_machine_data__telemetry"}
    with DagsterInstance.ephemeral() as instance:
        first = rebuild_rollups(url, now, instance=instance)
        assert views | {"int_machine_slice", "oee_machine_shift"} <= built(first)  # no earlier one
        assert unchanged(first) == {}
        again = rebuild_rollups(url, now, instance=instance)
        assert not any(name.startswith("stg_") for name in built(again))
        assert {"int_machine_slice", "oee_machine_shift"} <= built(again)
        reported = unchanged(again)
        assert views <= set(reported)
        columns = reported["stg_plant__site"]["dagster/column_schema"].schema.columns
        assert "timezone" in {column.name for column in columns}
        with psycopg.connect(url) as conn:
            conn.execute("DROP VIEW staging.stg_plant__site")
        rebuilt = built(rebuild_rollups(url, now, instance=instance))
        assert {name for name in rebuilt if name.startswith("stg_")} == {"stg_plant__site"}
        assert views <= built(rebuild_rollups(url, now, full_refresh=True, instance=instance))


def test_a_build_removes_its_folder_unless_it_failed(
    server_url: str, template_url: str, dbt_manifest
) -> None:
    """dagster-dbt gives each build a folder under dbt_oee/target: an hourly build that kept its
    own would fill the disk; a failed one keeps the debug log its error points to. The first
    build runs on a new warehouse without a plant model, as a new site's schedule may."""
    url = create_database(server_url, template=database_name(template_url))
    now = MONDAY_0610.isoformat()

    def folders(result: ExecuteInProcessResult) -> list[Path]:
        return list((DBT_PROJECT_DIR / "target").glob(f"oee_dbt_models-{result.run_id[:7]}-*"))

    try:
        assert folders(rebuild_rollups(url, now)) == []
        with psycopg.connect(url) as conn:
            conn.execute("ALTER TABLE curated.production_count RENAME TO production_count_gone")
        (kept,) = folders(rebuild_rollups(url, now, expect_success=False))
        assert "production_count" in (kept / "dbt.log").read_text()
        shutil.rmtree(kept)
    finally:
        drop_database(server_url, database_name(url))


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ("period_start = period_start", psycopg.errors.UniqueViolation),
        ("availability = 1.01", psycopg.errors.CheckViolation),
        ("loss_model = NULL", psycopg.errors.NotNullViolation),
    ],
)
def test_a_rollup_row_against_the_contract_is_refused_as_it_is_written(
    monday: tuple[str, ExecuteInProcessResult], change: str, refused: type[Exception]
) -> None:
    """The marts' keys, ranges and NOT NULLs are PostgreSQL constraints (no data test scans the
    history): a copy of a machine-shift row changed against one is refused."""
    url, _ = monday
    row = "SELECT * FROM curated.oee_machine_shift WHERE availability IS NOT NULL LIMIT 1"
    with psycopg.connect(url) as conn, pytest.raises(refused):
        conn.execute(f"CREATE TEMP TABLE copied AS {row}")  # noqa: S608
        conn.execute(f"UPDATE copied SET {change}")  # noqa: S608
        conn.execute("INSERT INTO curated.oee_machine_shift SELECT * FROM copied")


def test_a_1970_state_does_not_grow_the_calendar_or_change_the_rollups(
    server_url: str, template_url: str, dbt_manifest
) -> None:
    url = create_database(server_url, template=database_name(template_url))
    try:
        _materialize(url, days=1)
        before = _rows(
            url, "SELECT * FROM curated.oee_machine_shift ORDER BY machine_id, period_start"
        )
        shifts = _rows(url, "SELECT count(*) AS n FROM curated.shift")[0]["n"]
        with psycopg.connect(url) as conn:  # as a PLC with a reset clock would report it
            conn.execute(
                "INSERT INTO curated.machine_state (machine_id, start_ts, end_ts, state, source)"
                " VALUES ('BER-L1-FILLER', '1970-01-01 00:00+00', '1970-01-01 01:00+00',"
                " 'running', 'plc')"
            )
        _rebuild_rollups(url)
        after = _rows(
            url, "SELECT * FROM curated.oee_machine_shift ORDER BY machine_id, period_start"
        )
        assert _rows(url, "SELECT count(*) AS n FROM curated.shift")[0]["n"] == shifts <= 3 * 6
        assert after == before
    finally:
        drop_database(server_url, database_name(url))


def test_now_must_carry_its_offset_and_goes_to_dbt_in_utc() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        OeeRollupConfig(now="2026-11-23T06:10:00")
    utc = "2026-11-23T06:10:00+00:00"
    assert OeeRollupConfig(now="2026-11-23T07:10:00+01:00").pinned_now(ClockResource()) == utc
    clock = ClockResource(pinned="2026-11-23T00:10:00-06:00")
    assert OeeRollupConfig().pinned_now(clock) == utc  # the run's config first, then the clock
    assert OeeRollupConfig().pinned_now(ClockResource()) is None  # the database's now()
    assert OeeRollupConfig().dbt_args() == []
    assert OeeRollupConfig(full_refresh=True).dbt_args() == ["--full-refresh"]


def test_a_new_now_re_parses_no_model(tmp_path: Path) -> None:
    """dbt re-parses every file whose parse read a changed environment variable: oee_now reads
    OEE_DBT_NOW only when the models run, so the hourly build's new now costs no parse."""

    def parse(now: str) -> str:
        with dbt_run_env(None, now):
            subprocess.run(
                [DBT_EXECUTABLE, "parse", "--quiet", "--target-path", str(tmp_path / "target")]
                + ["--log-path", str(tmp_path)],
                cwd=DBT_PROJECT_DIR,
                env={**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)},
                check=True,
            )
        return (tmp_path / "dbt.log").read_text().split("Running with dbt=")[-1]

    assert "Unable to do partial parsing" in parse("2026-11-23T06:00:00+00:00")  # the first
    assert "no changes found, skipping parsing" in parse("2026-11-23T07:00:00+00:00")
