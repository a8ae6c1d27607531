"""The plant model file, loaded into the ISA-95 hierarchy and shift calendar tables."""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, multi_asset
from psycopg import Connection

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse import sync_log
from resources import PlantModelResource, WarehouseResource

PLANT_MODEL_TABLES = ("site", "line", "machine", "shift_pattern")


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
    """Sites (with IANA timezones), lines, machines (with default ideal cycle times) and shift
    calendars from the plant model file, upserted into curated.site/line/machine/shift_pattern.
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


def upsert_hierarchy(conn: Connection, model: PlantModel) -> dict[str, int]:
    """Write the model; a site's shift calendar is replaced whole, the rest upserted."""
    cursor = conn.cursor()
    cursor.executemany(
        """
        INSERT INTO curated.site (site_id, name, timezone) VALUES (%s, %s, %s)
        ON CONFLICT (site_id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone,
            updated_at = now()
        """,
        [(site.id, site.name, site.timezone) for site in model.sites],
    )
    cursor.executemany(
        """
        INSERT INTO curated.line (line_id, site_id, name) VALUES (%s, %s, %s)
        ON CONFLICT (line_id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name,
            updated_at = now()
        """,
        [(line.id, site.id, line.name) for site, line in model.lines()],
    )
    cursor.executemany(
        """
        INSERT INTO curated.machine (machine_id, line_id, site_id, name, ideal_cycle_time_s)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (machine_id) DO UPDATE SET line_id = EXCLUDED.line_id,
            site_id = EXCLUDED.site_id, name = EXCLUDED.name,
            ideal_cycle_time_s = EXCLUDED.ideal_cycle_time_s, updated_at = now()
        """,
        [
            (m.id, line.id, site.id, m.name, m.ideal_cycle_time_s)
            for site, line, m in model.machines()
        ],
    )
    cursor.execute(
        "DELETE FROM curated.shift_pattern WHERE site_id = ANY(%s)", ([s.id for s in model.sites],)
    )
    shifts = [
        (site.id, shift.name, shift.start, shift.end, list(shift.isodays))
        for site in model.sites
        for shift in site.shifts
    ]
    cursor.executemany(
        "INSERT INTO curated.shift_pattern (site_id, shift_name, start_local, end_local, isodays)"
        " VALUES (%s, %s, %s, %s, %s)",
        shifts,
    )
    return {
        "site": len(model.sites),
        "line": len(model.lines()),
        "machine": len(model.machines()),
        "shift_pattern": len(shifts),
    }


def _markdown(model: PlantModel) -> str:
    rows = [
        f"| {site.id} | {site.timezone} | {line.id} | {m.id} | {m.ideal_cycle_time_s} |"
        for site, line, m in model.machines()
    ]
    header = "| site | timezone | line | machine | ideal cycle time (s) |\n|---|---|---|---|---|"
    return "\n".join([header, *rows])
