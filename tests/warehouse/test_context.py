"""The production-context writer: upserts on natural keys, idempotent, recipe versions kept."""

from __future__ import annotations

import datetime as dt

from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse.context import RECIPE, WORK_ORDER, upsert
from tests.warehouse.conftest import Query

START = dt.datetime(2026, 11, 2, 6, tzinfo=dt.UTC)


def _order(**changes: object) -> dict[str, object]:
    order = {
        "work_order_id": "WO-1",
        "site_id": "S1",
        "line_id": "L1",
        "product_sku": "SKU-1",
        "planned_start": START,
        "planned_end": START + dt.timedelta(hours=8),
        "planned_qty": 1000.0,
        "status": "released",
        "source": "mes",
    }
    return {**order, **changes}


def test_a_second_identical_write_changes_nothing(pool: ConnectionPool, query: Query) -> None:
    with pool.connection() as conn:
        assert upsert(conn, WORK_ORDER, [_order(), _order(work_order_id="WO-2")]) == 2
    with pool.connection() as conn:
        assert upsert(conn, WORK_ORDER, [_order(), _order(work_order_id="WO-2")]) == 0
        assert upsert(conn, WORK_ORDER, [_order(status="running")]) == 1
    assert query("SELECT work_order_id, status FROM curated.work_order ORDER BY 1") == [
        ("WO-1", "running"),
        ("WO-2", "released"),
    ]


def test_a_narrow_write_keeps_the_columns_it_does_not_name(
    pool: ConnectionPool, query: Query
) -> None:
    with pool.connection() as conn:
        upsert(conn, WORK_ORDER, [_order(recipe_id="R1", recipe_version="3")])
        narrow = ("work_order_id", "site_id", "product_sku", "produced_qty", "status", "source")
        assert upsert(conn, WORK_ORDER, [_order(produced_qty=990.0, source="erp")], narrow) == 1
    assert query(
        "SELECT recipe_id, recipe_version, produced_qty, source FROM curated.work_order"
    ) == [("R1", "3", 990.0, "erp")]


def test_a_recipe_version_is_never_overwritten(pool: ConnectionPool, query: Query) -> None:
    recipe = {
        "recipe_id": "R1",
        "version": "1",
        "product_sku": "SKU-1",
        "line_id": "L1",
        "ideal_cycle_time_s": 2.0,
        "valid_from": START,
        "source": "mes",
    }
    with pool.connection() as conn:
        assert upsert(conn, RECIPE, [recipe]) == 1
        changed = {**recipe, "ideal_cycle_time_s": 1.5}
        assert upsert(conn, RECIPE, [changed, {**changed, "version": "2"}]) == 1
    assert query("SELECT version, ideal_cycle_time_s FROM curated.recipe ORDER BY 1") == [
        ("1", 2.0),
        ("2", 1.5),
    ]
