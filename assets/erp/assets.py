"""The ERP as a source: production orders, materials and labor pulled nightly, production
confirmed back.

Each sync is one transaction and one `audit.sync_log` row: a failed ERP call (named by system,
endpoint and HTTP status) leaves the tables as they were. Pulls are incremental from the newest
change seen (`raw.source_watermark`), or full with `full: true`. Which system owns which
work-order column, and how MES/ERP conflicts are reported: `assets/erp/sync.py` and
`oee_pipelines/warehouse/conflicts.py`.
"""

from collections.abc import Callable
from typing import Any

import pandera.pandas as pa
from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset
from psycopg import Connection
from pydantic import Field

from assets.erp import confirmations, sync
from assets.erp.schemas import LABOR, MATERIALS, work_orders
from oee_pipelines.warehouse import sync_log
from oee_pipelines.warehouse.conflicts import open_conflicts
from resources import ClockResource, PlantModelResource, WarehouseResource
from resources.erp import ErpResource

SOURCE = sync.SOURCE
PLANT = [AssetKey(["curated", "machine"])]


class ErpSyncConfig(Config):
    full: bool = Field(
        default=False, description="Pull every record, not only those changed since the last sync."
    )


Store = Callable[[Connection[Any], sync.Pulled, Any], sync.Written]


def _sync(
    context: AssetExecutionContext,
    config: ErpSyncConfig,
    erp: ErpResource,
    warehouse: WarehouseResource,
    entity: str,
    target: str,
    schema: Callable[[Connection[Any]], pa.DataFrameSchema],
    store: Store,
) -> sync.Written:
    """Pull one entity and store it, in one transaction recorded in `audit.sync_log`."""
    mapping = getattr(erp.mapping, entity)
    with (
        sync_log(
            warehouse.pool, actor="dagster", operation="sync", source_system=SOURCE, target=target
        ) as run,
        erp.client() as client,
        warehouse.pool.connection() as conn,
        conn.transaction(),
    ):
        since = None if config.full else sync.watermark(conn, entity)
        pulled = sync.pull(client, mapping, sync.plants(conn), since, schema(conn))
        written = store(conn, pulled, since)
        run.rows_read, run.rows_written = written.read, written.written
    context.log.info(f"{SOURCE} {entity}: {written}")
    return written


def _metadata(written: sync.Written, **extra: Any) -> dict[str, Any]:
    return {
        "dagster/row_count": written.read,
        "rows_written": written.written,
        "dead_lettered": written.dead_lettered,
        "incremental": written.incremental,
        "source": SOURCE,
        **extra,
    }


def _lines(conn: Connection[Any]) -> pa.DataFrameSchema:
    return work_orders([row[0] for row in conn.execute("SELECT line_id FROM curated.line")])


@asset(name="erp_production_orders", group_name="erp", pool=SOURCE, kinds={"postgres"}, deps=PLANT)
def erp_production_orders(
    context: AssetExecutionContext,
    config: ErpSyncConfig,
    erp: ErpResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    """The ERP's production orders into curated.work_order (the columns the ERP owns, for
    orders the MES does not run); disagreements with the MES into
    curated.work_order_conflict."""
    written = _sync(
        context,
        config,
        erp,
        warehouse,
        "production_orders",
        "curated.work_order",
        _lines,
        sync.store_work_orders,
    )
    with warehouse.pool.connection() as conn:
        conflicts = open_conflicts(conn)
    table = "\n".join(f"| {' | '.join(map(str, row))} |" for row in conflicts[:20])
    header = "| work order | column | MES | ERP |\n| --- | --- | --- | --- |\n"
    return MaterializeResult(
        metadata=_metadata(
            written,
            conflicts=len(conflicts),
            conflicts_preview=MetadataValue.md(header + table if conflicts else "none"),
        )
    )


@asset(name="erp_materials", group_name="erp", pool=SOURCE, kinds={"postgres"}, deps=PLANT)
def erp_materials(
    context: AssetExecutionContext,
    config: ErpSyncConfig,
    erp: ErpResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    """The ERP's material master of the products made, into curated.material."""
    written = _sync(
        context,
        config,
        erp,
        warehouse,
        "materials",
        "curated.material",
        lambda _: MATERIALS,
        lambda conn, pulled, since: sync.store(conn, sync.MATERIAL, "materials", pulled, since),
    )
    return MaterializeResult(metadata=_metadata(written))


@asset(name="erp_labor", group_name="erp", pool=SOURCE, kinds={"postgres"}, deps=PLANT)
def erp_labor(
    context: AssetExecutionContext,
    config: ErpSyncConfig,
    erp: ErpResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    """Operators' hours confirmed against work orders in the ERP, into
    curated.labor_confirmation."""
    written = _sync(
        context,
        config,
        erp,
        warehouse,
        "labor",
        "curated.labor_confirmation",
        lambda _: LABOR,
        lambda conn, pulled, since: sync.store(
            conn, sync.LABOR_CONFIRMATION, "labor", pulled, since
        ),
    )
    return MaterializeResult(metadata=_metadata(written))


@asset(
    name="erp_confirmations",
    group_name="erp",
    pool=SOURCE,
    kinds={"python"},
    deps=[AssetKey("erp_production_orders"), AssetKey(["curated", "production_count"])],
)
def erp_confirmations(
    context: AssetExecutionContext,
    erp: ErpResource,
    warehouse: WarehouseResource,
    plant: PlantModelResource,
    clock: ClockResource,
) -> MaterializeResult:
    """The yield and scrap counted in the warehouse for every ended work order, confirmed to
    the ERP: only what the ERP does not hold yet, each POST a row of audit.sync_log."""
    with warehouse.pool.connection() as conn:
        counted = confirmations.counted(conn, plant.load(), clock.now())
        plants = sync.plants(conn)
    with erp.client() as client:
        owed = list(confirmations.pending(client, erp.mapping, counted))
        for confirmation in owed:
            confirmations.send(warehouse.pool, client, erp.mapping, plants, confirmation)
    context.log.info(f"{SOURCE}: {len(owed)} confirmations sent for {len(counted)} ended orders")
    return MaterializeResult(
        metadata={
            "ended_orders": len(counted),
            "confirmations_sent": len(owed),
            "yield_confirmed": sum(c.yield_qty for c in owed),
            "source": SOURCE,
        }
    )
