"""Writing actuals back to the MES: what changed since the last report, and its record.

Dagster-free. What was reported last is kept in curated.work_order (actual_start, actual_end,
produced_qty), written right after the MES accepted the call: a second run finds nothing that
differs and sends nothing.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row

from assets.mes.queries import query
from oee_pipelines.connectors.mes import SYSTEM, WorkOrderActual
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse.context import WORK_ORDER, upsert

REPORTED_COLUMNS = (
    "work_order_id",
    "site_id",
    "product_sku",
    "status",
    "actual_start",
    "actual_end",
    "produced_qty",
    "source",
)


def output_machines(plant: PlantModel) -> tuple[list[str], list[str]]:
    """(line, machine) pairs that count each line's output: its `output_machine` when its
    machines are in series, else every machine (in parallel, their parts add up)."""
    pairs = [
        (line.id, machine.id)
        for _, line in plant.lines()
        for machine in line.machines
        if line.output_machine in (None, machine.id)
    ]
    return [line for line, _ in pairs], [machine for _, machine in pairs]


def pending_actuals(conn: Connection[Any], plant: PlantModel) -> list[dict[str, Any]]:
    """Completed work orders whose measured actuals differ from those last reported."""
    lines, machines = output_machines(plant)
    cursor = conn.cursor(row_factory=dict_row)
    return cursor.execute(query("actuals"), {"lines": lines, "machines": machines}).fetchall()


def actual(row: dict[str, Any]) -> WorkOrderActual:
    return WorkOrderActual(
        row["work_order_id"], row["actual_start"], row["actual_end"], row["produced_qty"]
    )


def record_reported(conn: Connection[Any], row: dict[str, Any]) -> int:
    """Keep what the MES accepted, so that it is not sent again."""
    return upsert(conn, WORK_ORDER, [row | {"source": SYSTEM}], REPORTED_COLUMNS)
