"""One MES sync in the warehouse: validate what changed, upsert it, move the watermarks.

Dagster-free. Everything happens on one connection in one transaction (the caller's), so a
failed sync leaves the tables, the dead letters and the watermarks as they were. Records that
fail validation are dead letters with their reasons; the rest are upserted on natural keys, so a
second run of the same changes writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.pandas as pa
from psycopg import Connection
from psycopg.rows import dict_row

from assets.mes import schemas
from oee_pipelines.connectors.mes import ENTITIES, SYSTEM, MesChanges
from oee_pipelines.warehouse.conflicts import reconcile
from oee_pipelines.warehouse.context import (
    RECIPE,
    SHIFT_ASSIGNMENT,
    WORK_ORDER,
    ContextTable,
    upsert,
)
from oee_pipelines.warehouse.dead_letters import insert_dead_letters, record_letter
from oee_pipelines.warehouse.watermarks import advance
from oee_pipelines.warehouse.watermarks import watermarks as stored_watermarks

ORDER_COLUMNS = (
    "work_order_id",
    "site_id",
    "line_id",
    "product_sku",
    "recipe_id",
    "recipe_version",
    "planned_qty",
    "status",
    "source",
)
"""What the MES's work orders set; the plan comes from the schedule, actuals from the plant."""
SCHEDULE_COLUMNS = (
    "work_order_id",
    "site_id",
    "line_id",
    "product_sku",
    "status",
    "planned_start",
    "planned_end",
    "priority",
    "source",
)
"""The plan; site, product and status are the order's own, repeated because a row needs them."""

_ORDER_FACTS = """
SELECT work_order_id, site_id, product_sku, status FROM curated.work_order
WHERE work_order_id = ANY(%s)
"""


@dataclass
class EntityResult:
    read: int = 0
    written: int = 0
    rejected: int = 0
    watermark: dt.datetime | None = None


@dataclass
class SyncResult:
    entities: dict[str, EntityResult] = field(
        default_factory=lambda: {entity: EntityResult() for entity in ENTITIES}
    )

    @property
    def rows_read(self) -> int:
        return sum(result.read for result in self.entities.values())

    @property
    def rows_written(self) -> int:
        return sum(result.written for result in self.entities.values())


def watermarks(conn: Connection[Any], source: str = SYSTEM) -> dict[str, dt.datetime]:
    """Where each entity's last incremental pull stopped."""
    return stored_watermarks(conn, source)


def apply_changes(conn: Connection[Any], changes: MesChanges, source: str = SYSTEM) -> SyncResult:
    """Validate and upsert the changes, dead-letter the refused, move the watermarks."""
    result = SyncResult()
    sites = {row[0] for row in conn.execute("SELECT site_id FROM curated.site")}
    lines = {row[0] for row in conn.execute("SELECT line_id FROM curated.line")}

    def load(
        entity: str,
        records: Sequence[Any],
        schema: pa.DataFrameSchema,
        table: ContextTable,
        row: Callable[[Any], dict[str, Any]] = _fields,
        columns: Sequence[str] | None = None,
    ) -> None:
        counts = result.entities[entity]
        valid = _valid(conn, counts, records, schema, f"curated.{table.name}", source)
        rows = [row(record) | {"source": source} for record in valid]
        counts.written = upsert(conn, table, rows, columns)

    load("work_orders", changes.work_orders, schemas.work_orders(sites, lines), WORK_ORDER,
         columns=ORDER_COLUMNS)  # fmt: skip
    # after the orders: an entry may belong to an order of this very sync
    ids = sorted({entry.work_order_id for entry in changes.schedule})
    facts = {fact.pop("work_order_id"): fact for fact in _query(conn, _ORDER_FACTS, ids)}
    load("schedule", changes.schedule, schemas.schedule(lines, facts), WORK_ORDER,
         lambda entry: _fields(entry) | facts[entry.work_order_id], SCHEDULE_COLUMNS)  # fmt: skip
    load("recipes", changes.recipes, schemas.recipes(lines), RECIPE)
    load("shifts", changes.shifts, schemas.shifts(sites, lines), SHIFT_ASSIGNMENT,
         lambda shift: _fields(shift) | {"operator_ids": list(shift.operator_ids)})  # fmt: skip
    reconcile(conn)  # the orders just written against the ERP's plan of them

    for entity, counts in result.entities.items():
        if counts.watermark is not None:
            advance(conn, source, entity, counts.watermark)
    return result


def _valid(
    conn: Connection[Any],
    counts: EntityResult,
    records: Sequence[Any],
    schema: pa.DataFrameSchema,
    target: str,
    source: str,
) -> list[Any]:
    """The records that pass `schema`; the others become dead letters with their reasons."""
    counts.read = len(records)
    counts.watermark = max((record.modified_at for record in records), default=None)
    if not records:
        return []
    frame = pd.DataFrame([dataclasses.asdict(record) for record in records])
    refused = schemas.failing_rows(schema, frame)
    counts.rejected = len(refused)
    insert_dead_letters(
        conn,
        (
            record_letter(records[row], source, target, reason)
            for row, reason in sorted(refused.items())
        ),
    )
    return [record for row, record in enumerate(records) if row not in refused]


def _query(conn: Connection[Any], statement: str, *params: Any) -> list[dict[str, Any]]:
    return conn.cursor(row_factory=dict_row).execute(statement, params).fetchall()


def _fields(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)
