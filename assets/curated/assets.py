"""The curated tables that several sources write: one publisher asset each.

Sources write their rows straight into the shared table through the shared writer (realtime
ingest continuously, outside Dagster; backfills and imports as assets of their own). The
publisher is the table as BI reads it: it depends on every source asset of its entity, carries
the blocking data checks, and reports the table's rows per source, so the lineage reads
source -> curated table -> rollup, and no rollup reads a table whose checks failed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset,
)
from psycopg import sql

from assets.ingest import ENTITY_TAG
from resources import WarehouseResource


@dataclass(frozen=True)
class SharedTable:
    entity: str
    time_column: str
    description: str


SHARED_TABLES = (
    SharedTable(
        "machine_state",
        "start_ts",
        "Machine state intervals; the intervals of one machine never overlap.",
    ),
    SharedTable("production_count", "start_ts", "Good and rejected parts counted per interval."),
    SharedTable("telemetry", "ts", "Sensor and PLC values with unit and quality."),
    SharedTable("work_order", "planned_start", "Work orders: plan, recipe, status and actuals."),
    SharedTable("recipe", "valid_from", "Recipe versions (history, never overwritten)."),
    SharedTable("shift_assignment", "shift_start", "The operators of each shift occurrence."),
    SharedTable("changeover", "start_ts", "Changeovers between work orders on a line."),
)


def publishers(source_assets: Iterable[object]) -> list[AssetsDefinition]:
    """A publisher for every shared table, fed by the source assets tagged with its entity."""
    feeds: dict[str, list[AssetKey]] = defaultdict(list)
    for spec in feeding_specs(source_assets):
        feeds[spec.tags[ENTITY_TAG]].append(spec.key)
    return [_publisher(table, sorted(feeds[table.entity])) for table in SHARED_TABLES]


def feeding_specs(assets: Iterable[object]) -> list[AssetSpec]:
    """The specs of the source assets that feed a shared table; an unknown table is an error."""
    specs = [spec for spec in _specs(assets) if ENTITY_TAG in spec.tags]
    unknown = {spec.tags[ENTITY_TAG] for spec in specs} - {t.entity for t in SHARED_TABLES}
    if unknown:
        raise ValueError(f"source assets feed tables without a publisher: {sorted(unknown)}")
    return specs


def _specs(assets: Iterable[object]) -> Iterator[AssetSpec]:
    for item in assets:
        if isinstance(item, AssetSpec):
            yield item
        elif isinstance(item, AssetsDefinition):
            yield from item.specs


def shared_table(entity: str) -> SharedTable:
    return next(table for table in SHARED_TABLES if table.entity == entity)


def _publisher(table: SharedTable, sources: list[AssetKey]) -> AssetsDefinition:
    @asset(
        key=["curated", table.entity],
        deps=sources,
        group_name="curated",
        kinds={"postgres"},
        automation_condition=AutomationCondition.eager(),
        description=f"{table.description} Published from: "
        f"{', '.join(key.to_user_string() for key in sources) or 'realtime ingest'}.",
    )
    def publish(warehouse: WarehouseResource) -> MaterializeResult:
        query = sql.SQL(
            "SELECT source, count(*), max({time}) FROM {table} GROUP BY source ORDER BY source"
        ).format(
            time=sql.Identifier(table.time_column),
            table=sql.Identifier("curated", table.entity),
        )
        with warehouse.pool.connection() as conn:
            by_source = conn.execute(query).fetchall()
        return MaterializeResult(
            metadata={
                "dagster/row_count": sum(rows for _, rows, _ in by_source),
                "dagster/table_name": f"curated.{table.entity}",
                "rows_by_source": MetadataValue.json(
                    {
                        source: {"rows": rows, "newest": str(newest)}
                        for source, rows, newest in by_source
                    }
                ),
            }
        )

    return publish
