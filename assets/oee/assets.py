"""The dbt project `dbt_oee`: the staging views, the shift calendar and the OEE rollups, built in
the warehouse as one Dagster multi-asset (keys and groups: `assets/oee/translator.py`)."""

import datetime as dt
import io
import shutil
from collections.abc import Iterator, Mapping
from contextlib import redirect_stdout
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    AssetSpec,
    AutomationConditionSensorDefinition,
    Config,
    DagsterLogManager,
    DefaultSensorStatus,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DbtCliResource, dbt_assets
from psycopg import sql
from pydantic import Field, field_validator

from assets.oee.translator import OeeDbtTranslator
from oee_pipelines.dbt_project import BUILD_FLAGS, dbt_project, dbt_run_env
from oee_pipelines.warehouse.pool import scalar
from resources import ClockResource, WarehouseResource

COLUMNS_SQL = """
SELECT attname, format_type(atttypid, atttypmod), col_description(attrelid, attnum)
FROM pg_attribute
WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""

PRESENT_SQL = """
SELECT relation FROM unnest(%s::text[]) AS relation WHERE to_regclass(relation) IS NOT NULL
"""


class OeeRollupConfig(Config):
    now: str | None = Field(
        default=None,
        description="The instant the rollups take as now, ISO 8601 with its offset (e.g. "
        "2026-11-23T06:10:00+00:00): shifts begun by then, the one in progress cut there. "
        "Unset: the clock resource's pinned now, else the database's now().",
    )

    full_refresh: bool = Field(
        default=False,
        description="Recompute every rollup from all data and create the incremental ones "
        "and the views anew (dbt --full-refresh), as after an upgrade that changed their "
        "columns. Otherwise only what changed since the last build is recomputed, and only the "
        "views that are new or whose SQL changed are created.",
    )

    @field_validator("now")
    @classmethod
    def _instant_with_offset(cls, now: str | None) -> str | None:
        if now is not None and dt.datetime.fromisoformat(now).utcoffset() is None:
            raise ValueError("now needs a UTC offset, e.g. 2026-11-23T06:10:00+00:00")
        return now

    def pinned_now(self, clock: ClockResource) -> str | None:
        """The now pinned by this run, else by the clock, in UTC; None leaves the database's
        now(). Never the clock's real now: a changed now makes dbt re-parse the models."""
        pinned = self.now or clock.pinned
        if pinned is None:
            return None
        return dt.datetime.fromisoformat(pinned).astimezone(dt.UTC).isoformat()

    def dbt_args(self) -> list[str]:
        return ["--full-refresh"] if self.full_refresh else []


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=OeeDbtTranslator(),
)
def oee_dbt_models(
    context: AssetExecutionContext,
    config: OeeRollupConfig,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> Iterator[Any]:
    """Build (run and test) the selected dbt models against the warehouse; each table reports
    its row count and each model its columns with their types and comments.

    The selected views that are unchanged are left out of the build and reported as they are
    (metadata `unchanged_view`) while it runs: a view shows its inputs' data as of now, so the UI
    does not show it behind them.

    dagster-dbt gives each build a folder of its own under `dbt_oee/target` (the compiled SQL,
    dbt's debug log). A build that succeeded removes it: one every hour would fill the disk. A
    failed build's stays, with the log its error message points to."""
    unchanged = [] if config.full_refresh else unchanged_views(context, warehouse)
    excluded = ["--exclude", " ".join(_model_name(spec) for spec in unchanged)] if unchanged else []
    with dbt_run_env(warehouse.database_url, config.pinned_now(clock)):
        invocation = dbt.cli(
            ["build", *BUILD_FLAGS, *config.dbt_args(), *excluded], context=context
        )
    for spec in unchanged:  # first: the models built read them
        node = invocation.manifest["nodes"][spec.metadata["dagster_dbt/unique_id"]]
        yield Output(
            None,
            output_name=context.assets_def.get_output_name_for_asset_key(spec.key),
            metadata={"unchanged_view": True, **table_metadata(warehouse, node)},
        )
    for event in _into_run_log(invocation.stream(), context.log):
        if isinstance(event, Output):
            node = invocation.manifest["nodes"][event.metadata["unique_id"].value]
            event = event.with_metadata({**event.metadata, **table_metadata(warehouse, node)})
        yield event
    shutil.rmtree(invocation.target_path)


oee_rollup_automation = AutomationConditionSensorDefinition(
    "oee_rollup_automation",
    target=AssetSelection.assets(oee_dbt_models),
    default_status=DefaultSensorStatus.RUNNING,
    description="Rolls up what changed upstream (a backfill, a late file) without waiting for "
    "the hourly schedule, once the blocking checks of the inputs passed.",
)


def unchanged_views(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> list[AssetSpec]:
    """The selected views that the warehouse holds as last built from their current SQL (the code
    version: dbt's checksum of it). A view holds no data, so a build that recreated it every hour
    would spend dbt's time (about a second for the staging views) on nothing; a new view, a
    changed one and one dropped by hand are built."""
    views = [
        spec
        for key, spec in context.assets_def.specs_by_key.items()
        if key in context.selected_asset_keys
        and spec.metadata["dagster-dbt/materialization_type"] == "view"
    ]
    built = context.instance.get_latest_materialization_code_versions([s.key for s in views])
    current = {s.metadata["dagster/table_name"]: s for s in views if built[s.key] == s.code_version}
    with warehouse.pool.connection() as conn:
        present = conn.execute(PRESENT_SQL, (list(current),)).fetchall()
    return [current[name] for (name,) in present]


def _model_name(spec: AssetSpec) -> str:
    return spec.metadata["dagster_dbt/unique_id"].split(".")[-1]


def table_metadata(warehouse: WarehouseResource, node: Mapping[str, Any]) -> dict[str, Any]:
    """Row count (tables only: counting a view runs its query) and column schema of a built
    model, read from the warehouse the run wrote to, with the comments that persist_docs wrote.
    """
    name = sql.Identifier(node["schema"], node["alias"])
    with warehouse.pool.connection() as conn:
        columns = conn.execute(COLUMNS_SQL, (name.as_string(conn),)).fetchall()
        metadata: dict[str, Any] = {
            "dagster/column_schema": MetadataValue.table_schema(
                TableSchema(
                    columns=[
                        TableColumn(name=column, type=type_, description=description)
                        for column, type_, description in columns
                    ]
                )
            )
        }
        if node["config"]["materialized"] != "view":
            count = sql.SQL("SELECT count(*) FROM {}").format(name)
            metadata["dagster/row_count"] = scalar(conn, count)
    return metadata


class _RunLog(io.TextIOBase):
    """A stdout whose lines go to the run's log: dagster-dbt echoes dbt's console to stdout,
    which would otherwise reach the terminal of `oee demo`."""

    def __init__(self, log: DagsterLogManager) -> None:
        self._log = log

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self._log.debug(line)
        return len(text)


def _into_run_log(events: Iterator[Any], log: DagsterLogManager) -> Iterator[Any]:
    """The events, with whatever producing each one prints sent to the run's log."""
    run_log = _RunLog(log)
    while True:
        with redirect_stdout(run_log):
            event = next(events, None)
        if event is None:
            return
        yield event
