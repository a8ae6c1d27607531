"""The plant model file, loaded into the ISA-95 hierarchy and shift calendar tables."""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse import sync_log
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from resources import PlantModelResource, WarehouseResource

PLANT_MODEL_TABLES = ("site", "line", "machine", "shift_pattern", "shift_break")


@multi_asset(
    name="plant_model",
    specs=[
        AssetSpec(["curated", table], group_name="plant", kinds={"yaml", "postgres"})
        for table in PLANT_MODEL_TABLES
    ],
)
def plant_model(
    context: AssetExecutionContext, plant: PlantModelResource, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """Sites (with IANA timezones and loss models), lines, machines (with default ideal cycle
    times) and shift calendars with their breaks from the plant model file, upserted into
    curated.site/line/machine/shift_pattern/shift_break.
    """
    model = plant.load()
    with sync_log(
        warehouse.pool,
        actor="dagster",
        operation="sync",
        source_system="plant_model",
        target=", ".join(f"curated.{table}" for table in PLANT_MODEL_TABLES),
    ) as run:
        with warehouse.pool.connection() as conn, conn.transaction():
            written = upsert_hierarchy(conn, model)
        run.rows_read = run.rows_written = sum(written.values())
    context.log.info(f"plant model {plant.path}: {written}")
    for table in PLANT_MODEL_TABLES:
        metadata: dict[str, Any] = {"path": plant.path, "rows": written[table]}
        if table == "machine":
            metadata["preview"] = MetadataValue.md(_markdown(model))
        yield MaterializeResult(asset_key=["curated", table], metadata=metadata)


def _markdown(model: PlantModel) -> str:
    rows = [
        f"| {site.id} | {site.timezone} | {line.id} | {m.id} | {m.ideal_cycle_time_s} |"
        for site, line, m in model.machines()
    ]
    header = "| site | timezone | line | machine | ideal cycle time (s) |\n|---|---|---|---|---|"
    return "\n".join([header, *rows])
