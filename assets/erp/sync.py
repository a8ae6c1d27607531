"""ERP syncs without Dagster: pull an entity, validate it, write it in the caller's transaction.

Which system owns which work-order column:

- The ERP owns the order as planned: site, line, product, planned start and end, planned
  quantity, and its status (`ERP_COLUMNS`). It never writes the recipe, the actual start and
  end, the produced quantity or the priority: those are the MES's, which runs the order.
- An order the MES has written (`source = 'mes'`) is the MES's: the ERP writes nothing to it.
  The ERP's plan of every order is kept whole in `curated.erp_production_order`; both syncs
  reconcile the two after writing (`oee_pipelines/warehouse/conflicts.py`).

A record that cannot be mapped or fails its pandera schema is a dead letter (kept whole, with
the reason), and the others load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pandera.pandas as pa
from psycopg import Connection

from oee_pipelines.connectors.erp import EntityMapping, MappingError, ODataClient, Plants
from oee_pipelines.warehouse import DeadLetter
from oee_pipelines.warehouse.conflicts import reconcile
from oee_pipelines.warehouse.context import WORK_ORDER, ContextTable, upsert
from oee_pipelines.warehouse.dead_letters import insert_dead_letters
from oee_pipelines.warehouse.watermarks import advance, watermarks

SOURCE = "erp"
ERP_COLUMNS = (
    "work_order_id",
    "site_id",
    "line_id",
    "product_sku",
    "planned_start",
    "planned_end",
    "planned_qty",
    "status",
    "source",
)
"""The columns of curated.work_order that the ERP owns."""
ERP_PRODUCTION_ORDER = ContextTable("erp_production_order", ("work_order_id",), ERP_COLUMNS)
MATERIAL = ContextTable(
    "material",
    ("material_id",),
    ("material_id", "material_type", "material_group", "base_unit", "source"),
)
LABOR_CONFIRMATION = ContextTable(
    "labor_confirmation",
    ("confirmation_group", "confirmation_count"),
    (
        "confirmation_group",
        "confirmation_count",
        "work_order_id",
        "operation",
        "work_center",
        "personnel_id",
        "start_ts",
        "end_ts",
        "labor_s",
        "yield_qty",
        "scrap_qty",
        "source",
    ),
)

_MES_ORDERS = (
    "SELECT work_order_id FROM curated.work_order WHERE source = 'mes' AND work_order_id = ANY(%s)"
)


@dataclass
class Pulled:
    """An entity's records of one pull: the valid rows, the refused ones, the newest change."""

    read: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    newest: dt.datetime | None = None


@dataclass(frozen=True)
class Written:
    read: int
    written: int
    dead_lettered: int
    incremental: bool = False


def plants(conn: Connection[Any]) -> Plants:
    """The ERP plants of the warehouse's sites (plant code = site id) and their timezones."""
    rows = conn.execute("SELECT site_id, timezone FROM curated.site").fetchall()
    return Plants({site_id: ZoneInfo(zone) for site_id, zone in rows})


def watermark(conn: Connection[Any], entity: str) -> dt.datetime | None:
    return watermarks(conn, SOURCE).get(entity)


def pull(
    client: ODataClient,
    mapping: EntityMapping,
    plants: Plants,
    since: dt.datetime | None,
    schema: pa.DataFrameSchema,
) -> Pulled:
    """Every record changed since `since` (all when None), mapped and checked by `schema`."""
    pulled = Pulled()
    records: list[Mapping[str, Any]] = []
    for record in client.entities(
        mapping.service, mapping.entity_set, filter=mapping.changed_since(since)
    ):
        pulled.read += 1
        changed = mapping.last_change(record)
        if changed and (pulled.newest is None or changed > pulled.newest):
            pulled.newest = changed
        if mapping.keep and not mapping.keep(record):
            continue
        try:
            pulled.rows.append(mapping.row(record, plants) | {"source": SOURCE})
            records.append(record)
        except MappingError as exc:
            pulled.dead_letters.append(_letter(mapping, record, str(exc)))
    failures = _failures(schema, pulled.rows)
    for index, reason in sorted(failures.items(), reverse=True):
        pulled.dead_letters.append(_letter(mapping, records[index], reason))
        del pulled.rows[index]
    return pulled


def store(
    conn: Connection[Any],
    table: ContextTable,
    entity: str,
    pulled: Pulled,
    since: dt.datetime | None,
) -> Written:
    """Upsert the rows, keep the dead letters, move the watermark (the caller's transaction)."""
    written = upsert(conn, table, pulled.rows)
    return _finish(conn, entity, pulled, since, written)


def store_work_orders(conn: Connection[Any], pulled: Pulled, since: dt.datetime | None) -> Written:
    """The ERP's plan of every order; its columns of the orders the MES does not run."""
    upsert(conn, ERP_PRODUCTION_ORDER, pulled.rows)
    ids = [row["work_order_id"] for row in pulled.rows]
    mes = {row[0] for row in conn.execute(_MES_ORDERS, (ids,)).fetchall()}
    ours = [row for row in pulled.rows if row["work_order_id"] not in mes]
    written = upsert(conn, WORK_ORDER, ours, columns=ERP_COLUMNS)
    reconcile(conn)
    return _finish(conn, "production_orders", pulled, since, written)


@cache
def query(name: str) -> str:
    """A SQL file of this folder."""
    return (Path(__file__).parent / name).read_text()


def _finish(
    conn: Connection[Any],
    entity: str,
    pulled: Pulled,
    since: dt.datetime | None,
    written: int,
) -> Written:
    dead = insert_dead_letters(conn, pulled.dead_letters)
    if pulled.newest is not None:
        advance(conn, SOURCE, entity, pulled.newest)
    return Written(pulled.read, written, dead, incremental=since is not None)


def _failures(schema: pa.DataFrameSchema, rows: list[dict[str, Any]]) -> dict[int, str]:
    """Row index -> the checks of the schema that the row fails."""
    if not rows:
        return {}
    frame = pd.DataFrame(rows)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failures: dict[int, str] = {}
        cases = errors.failure_cases.dropna(subset=["index"])
        for index, case in cases.groupby("index"):
            checks = ", ".join(f"{c.column}: {c.check}" for c in case.itertuples())
            failures[int(index)] = f"schema: {checks}"
        return failures
    return {}


def _letter(mapping: EntityMapping, record: Mapping[str, Any], reason: str) -> DeadLetter:
    target = f"{mapping.service}/{mapping.entity_set}"
    return DeadLetter(SOURCE, target, reason, dict(record), {"key": str(record.get(mapping.key))})
