"""One MES sync in the warehouse: validate what changed, upsert it, move the watermarks.

Dagster-free. Everything happens on one connection in one transaction (the caller's), so a
failed sync leaves the tables, the dead letters and the watermarks as they were. Records that
fail validation are dead letters with their reasons; the rest are upserted on natural keys, so a
second run of the same changes writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.pandas as pa
from psycopg import Connection

from assets.mes import schemas
from oee_pipelines.connectors.mes import ENTITIES, SYSTEM, MesChanges
from oee_pipelines.warehouse.context import RECIPE, SHIFT_ASSIGNMENT, WORK_ORDER, upsert
from oee_pipelines.warehouse.dead_letters import insert_dead_letters, record_letter

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

_WATERMARKS = "SELECT entity, watermark FROM raw.source_watermark WHERE source_system = %s"
_SAVE_WATERMARK = """
INSERT INTO raw.source_watermark (source_system, entity, watermark) VALUES (%s, %s, %s)
ON CONFLICT (source_system, entity) DO UPDATE SET watermark = EXCLUDED.watermark,
    updated_at = now()
WHERE raw.source_watermark.watermark < EXCLUDED.watermark
"""
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
    return dict(conn.execute(_WATERMARKS, (source,)).fetchall())


def apply_changes(conn: Connection[Any], changes: MesChanges, source: str = SYSTEM) -> SyncResult:
    """Validate and upsert the changes, dead-letter the refused, move the watermarks."""
    result = SyncResult()
    sites = {row[0] for row in conn.execute("SELECT site_id FROM curated.site")}
    lines = {row[0] for row in conn.execute("SELECT line_id FROM curated.line")}

    orders = _valid(
        conn,
        result,
        "work_orders",
        changes.work_orders,
        schemas.work_orders(sites, lines),
        "work_order",
        source,
    )
    result.entities["work_orders"].written = upsert(
        conn, WORK_ORDER, [_row(order, source) for order in orders], ORDER_COLUMNS
    )

    ids = sorted({entry.work_order_id for entry in changes.schedule})
    facts = {row[0]: row[1:] for row in conn.execute(_ORDER_FACTS, (ids,))}
    entries = _valid(
        conn,
        result,
        "schedule",
        changes.schedule,
        schemas.schedule(lines, facts),
        "work_order",
        source,
    )
    result.entities["schedule"].written = upsert(
        conn,
        WORK_ORDER,
        [
            _row(entry, source)
            | dict(
                zip(("site_id", "product_sku", "status"), facts[entry.work_order_id], strict=True)
            )
            for entry in entries
        ],
        SCHEDULE_COLUMNS,
    )

    recipes = _valid(
        conn, result, "recipes", changes.recipes, schemas.recipes(lines), "recipe", source
    )
    result.entities["recipes"].written = upsert(conn, RECIPE, [_row(r, source) for r in recipes])

    shifts = _valid(
        conn,
        result,
        "shifts",
        changes.shifts,
        schemas.shifts(sites, lines),
        "shift_assignment",
        source,
    )
    result.entities["shifts"].written = upsert(
        conn,
        SHIFT_ASSIGNMENT,
        [_row(shift, source) | {"operator_ids": list(shift.operator_ids)} for shift in shifts],
    )

    for entity, entity_result in result.entities.items():
        if entity_result.watermark is not None:
            conn.execute(_SAVE_WATERMARK, (source, entity, entity_result.watermark))
    return result


def _valid(
    conn: Connection[Any],
    result: SyncResult,
    entity: str,
    records: Sequence[Any],
    schema: pa.DataFrameSchema,
    table: str,
    source: str,
) -> list[Any]:
    """The records that pass `schema`; the others become dead letters with their reasons."""
    counts = result.entities[entity]
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
            record_letter(records[row], source, f"curated.{table}", reason)
            for row, reason in sorted(refused.items())
        ),
    )
    return [record for row, record in enumerate(records) if row not in refused]


def _row(record: Any, source: str) -> dict[str, Any]:
    return dataclasses.asdict(record) | {"source": source}
