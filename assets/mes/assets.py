"""The MES: work orders, their schedule, recipes and shift rosters synced nightly into the
curated tables; changeovers derived from them; actuals written back to the MES.

A sync is one transaction and one `audit.sync_log` row: a failed MES call or a refused answer
leaves every table as it was. Each write-back call is an `audit.sync_log` row of its own.
"""

from collections.abc import Iterator
from typing import Any

from dagster import AssetKey, AssetSpec, Config, MaterializeResult, asset, multi_asset
from psycopg.rows import dict_row
from pydantic import Field

from assets.ingest import ENTITY_TAG
from assets.mes.queries import query
from assets.mes.sync import apply_changes, watermarks
from assets.mes.write_back import actual, pending_actuals, record_reported
from oee_pipelines.connectors.mes import SYSTEM
from oee_pipelines.warehouse import sync_log
from oee_pipelines.warehouse.context import ContextTable, upsert
from resources import PlantModelResource, WarehouseResource
from resources.mes import MesResource

GROUP = SYSTEM
CHANGEOVER = ContextTable(
    "changeover",
    ("line_id", "start_ts"),
    (
        "line_id",
        "start_ts",
        "planned_end_ts",
        "from_work_order_id",
        "to_work_order_id",
        "from_recipe_id",
        "from_recipe_version",
        "to_recipe_id",
        "to_recipe_version",
        "recipe_changed",
        "planned_duration_s",
        "source",
    ),
)
_STALE_CHANGEOVERS = """
DELETE FROM curated.changeover
WHERE source = %s
  AND (line_id, start_ts) NOT IN (SELECT * FROM unnest(%s::text[], %s::timestamptz[]))
"""

# asset name -> (what the sync reads, curated table it feeds, description)
_SYNCED = {
    "production_schedule": ("schedule", "work_order", "Planned start, end and priority."),
    "work_orders": ("work_orders", "work_order", "Product, recipe, quantity and status."),
    "recipes": ("recipes", "recipe", "Recipe versions: ideal cycle, setup, teardown time."),
    "operator_shifts": ("shifts", "shift_assignment", "The operators of each shift."),
}
ORDER_KEYS = [AssetKey([GROUP, "production_schedule"]), AssetKey([GROUP, "work_orders"])]


class MesSyncConfig(Config):
    full: bool = Field(
        default=False, description="Pull everything, not only what changed since the last sync."
    )


@multi_asset(
    name="mes_sync",
    specs=[
        AssetSpec(
            [GROUP, name],
            group_name=GROUP,
            tags={ENTITY_TAG: table},
            kinds={"postgres"},
            deps=[AssetKey(["curated", "machine"])],
            description=f"From the MES: {description} Rows of curated.{table}.",
        )
        for name, (_, table, description) in _SYNCED.items()
    ],
    pool=GROUP,
)
def mes_sync(
    config: MesSyncConfig, mes: MesResource, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """Pull what changed in the MES since each entity's watermark (REST or SOAP), validate it,
    upsert it on natural keys and move the watermarks, all in one transaction."""
    targets = ", ".join(sorted({f"curated.{table}" for _, table, _ in _SYNCED.values()}))
    with sync_log(
        warehouse.pool, actor="dagster", operation="sync", source_system=SYSTEM, target=targets
    ) as run:
        with warehouse.pool.connection() as conn:
            since = {} if config.full else watermarks(conn)
            with mes.client() as client:
                changes = client.changes(since)
            result = apply_changes(conn, changes)
        run.rows_read, run.rows_written = result.rows_read, result.rows_written
    for name, (entity, table, _) in _SYNCED.items():
        counts = result.entities[entity]
        yield MaterializeResult(
            asset_key=[GROUP, name],
            metadata={
                "dagster/row_count": counts.read,
                "rows_written": counts.written,
                "rejected": counts.rejected,
                "watermark": str(counts.watermark or since.get(entity)),
                "full": config.full,
                "target": f"curated.{table}",
            },
        )


@asset(
    key=[GROUP, "changeovers"],
    group_name=GROUP,
    deps=[*ORDER_KEYS, AssetKey([GROUP, "recipes"])],
    tags={ENTITY_TAG: "changeover"},
    kinds={"postgres"},
    pool=GROUP,
)
def mes_changeovers(warehouse: WarehouseResource) -> MaterializeResult:
    """Each line's changeovers from one work order to the next, with the planned duration of
    the outgoing teardown and incoming setup; rows of orders since moved are removed."""
    with (
        sync_log(
            warehouse.pool,
            actor="dagster",
            operation="derive",
            source_system=SYSTEM,
            target="curated.changeover",
        ) as run,
        warehouse.pool.connection() as conn,
    ):
        rows: list[dict[str, Any]] = (
            conn.cursor(row_factory=dict_row).execute(query("changeovers")).fetchall()
        )
        written = upsert(conn, CHANGEOVER, [row | {"source": SYSTEM} for row in rows])
        removed = conn.execute(
            _STALE_CHANGEOVERS,
            (SYSTEM, [row["line_id"] for row in rows], [row["start_ts"] for row in rows]),
        ).rowcount
        run.rows_read, run.rows_written = len(rows), written + removed
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "rows_written": written,
            "rows_removed": removed,
            "recipe_changes": sum(row["recipe_changed"] for row in rows),
        }
    )


@asset(
    key=[GROUP, "write_back"],
    group_name=GROUP,
    deps=[*ORDER_KEYS, AssetKey(["curated", "production_count"])],
    kinds={"python"},
    pool=GROUP,
)
def mes_write_back(
    mes: MesResource, warehouse: WarehouseResource, plant: PlantModelResource
) -> MaterializeResult:
    """Actual start, end and produced quantity of each completed work order, measured at the
    machines that count its line's output, sent to the MES when they differ from what it was
    last sent; each call is an audit.sync_log row."""
    with warehouse.pool.connection() as conn:
        pending = pending_actuals(conn, plant.load())
    with mes.client() as client:
        for row in pending:
            with sync_log(
                warehouse.pool,
                actor="dagster",
                operation="write-back",
                source_system=SYSTEM,
                target=f"work order {row['work_order_id']}",
            ) as run:
                client.report(actual(row))
                with warehouse.pool.connection() as conn:
                    record_reported(conn, row)
                run.rows_read = run.rows_written = 1
    return MaterializeResult(metadata={"dagster/row_count": len(pending), "reported": len(pending)})
