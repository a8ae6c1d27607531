"""Production confirmed to the ERP: per ended work order, the parts the warehouse counted.

Idempotent against the ERP itself, with no bookkeeping of our own that could disagree with it:
what is sent is the counted yield and scrap minus what the ERP already holds as confirmed (read
from its orders just before), so a second run sends nothing, and a run after one that died
mid-way sends only what is still missing. A POST is tried once (a retry could book it twice).
Each POST is a row of `audit.sync_log` of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from assets.erp.sync import SOURCE, query
from oee_pipelines.connectors.erp import Confirmation, ErpMapping, ODataClient, Plants
from oee_pipelines.connectors.erp.odata import parse_decimal
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse import sync_log


@dataclass(frozen=True)
class Counted:
    """What the warehouse counted for one ended order."""

    work_order_id: str
    site_id: str
    start: dt.datetime
    end: dt.datetime
    good: int
    rejects: int


def counted(conn: Connection[Any], plant: PlantModel, now: dt.datetime) -> list[Counted]:
    """Every work order that ended by `now`, with the parts counted on its line."""
    pairs = [
        (line.id, machine.id)
        for _, line in plant.lines()
        for machine in line.machines
        if line.output_machine in (None, machine.id)
    ]
    params = {"lines": [p[0] for p in pairs], "machines": [p[1] for p in pairs], "now": now}
    rows = conn.cursor(row_factory=dict_row).execute(query("produced.sql"), params).fetchall()
    return [
        Counted(
            row["work_order_id"],
            row["site_id"],
            row["start_ts"],
            row["end_ts"],
            int(row["good_count"]),
            int(row["reject_count"]),
        )
        for row in rows
    ]


def pending(
    client: ODataClient, mapping: ErpMapping, orders: list[Counted]
) -> Iterator[Confirmation]:
    """The confirmations still owed: counted minus confirmed, for orders the ERP holds."""
    entity = mapping.production_orders
    confirmed = {
        str(record[entity.key]): record
        for record in client.entities(entity.service, entity.entity_set)
    }
    for order in orders:
        record = confirmed.get(order.work_order_id)
        if record is None:
            continue
        yield_qty = order.good - float(parse_decimal(record.get(mapping.confirmed_yield) or 0))
        scrap_qty = order.rejects - float(parse_decimal(record.get(mapping.confirmed_scrap) or 0))
        if yield_qty > 0 or scrap_qty > 0:
            yield Confirmation(
                order.work_order_id,
                order.site_id,
                max(yield_qty, 0.0),
                max(scrap_qty, 0.0),
                order.start,
                order.end,
                final=True,
            )


def send(
    pool: ConnectionPool,
    client: ODataClient,
    mapping: ErpMapping,
    plants: Plants,
    confirmation: Confirmation,
) -> dict[str, Any]:
    """POST one confirmation, recorded in `audit.sync_log` whatever its outcome."""
    target = f"{mapping.confirmations.service}/{mapping.confirmations.entity_set}"
    with sync_log(
        pool, actor="dagster", operation="confirm", source_system=SOURCE, target=target
    ) as run:
        created = client.create(
            mapping.confirmations.service,
            mapping.confirmations.entity_set,
            mapping.confirmations.body(confirmation, plants),
        )
        run.rows_written = 1
    return created
