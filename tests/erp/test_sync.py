"""ERP syncs against the simulated SAP ERP over real HTTP: full, incremental, idempotent,
failures that leave the tables as they were, and MES/ERP conflicts reported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from dagster import ExecuteInProcessResult
from psycopg_pool import ConnectionPool

from assets.erp.assets import erp_labor, erp_materials, erp_production_orders
from oee_pipelines.plant_model import PlantModel
from simulator import SimulatedPlant
from simulator.servers.erp import LEAD, SimulatedErp
from tests.erp.conftest import NOW, SINCE, run
from tests.support.pipeline import SEED

SYNCS = [erp_production_orders, erp_materials, erp_labor]
ORDER_COLUMNS = (
    "work_order_id, site_id, line_id, product_sku, planned_start, planned_end, planned_qty, "
    "status, source"
)


def truth_orders(plant: PlantModel, erp: SimulatedErp, now: dt.datetime) -> set[tuple[Any, ...]]:
    """The work orders the machines run that the ERP has created by `now`."""
    simulated = SimulatedPlant(plant, SEED)
    return {
        (
            order.work_order_id,
            site.id,
            line.id,
            order.product_sku,
            order.start.replace(microsecond=0),
            order.end.replace(microsecond=0),
            float(erp.planned_quantity(line, order)),
            "released",
            "erp",
        )
        for site, line in plant.lines()
        for order in simulated.work_orders(line.id, SINCE, now + LEAD)
        if order.start - LEAD <= now
    }


def rows(pool: ConnectionPool, query: str) -> set[tuple[Any, ...]]:
    with pool.connection() as conn:
        return set(conn.execute(query).fetchall())


def labor_truth(erp: SimulatedErp) -> set[tuple[Any, ...]]:
    return {
        (
            c["ConfirmationGroup"],
            c["ConfirmationCount"],
            c["OrderID"],
            c["Personnel"],
            float(Decimal(c["OpConfirmedWorkQuantity3"]) * 3600),
        )
        for c in erp.confirmations()
        if c["Personnel"]
    }


LABOR_QUERY = (
    "SELECT confirmation_group, confirmation_count, work_order_id, personnel_id, labor_s "
    "FROM curated.labor_confirmation"
)


def sync_log(pool: ConnectionPool) -> list[tuple[Any, ...]]:
    with pool.connection() as conn:
        return conn.execute(
            "SELECT target, status, rows_read, rows_written, error FROM audit.sync_log "
            "ORDER BY sync_id"
        ).fetchall()


def failure_of(result: ExecuteInProcessResult) -> str:
    """The messages of the step failure and its causes."""
    error = result.get_step_failure_events()[0].step_failure_data.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def test_full_then_incremental_sync_load_exactly_what_the_erp_holds(
    warehouse: ConnectionPool,
    database_url: str,
    plant: PlantModel,
    erp: tuple[SimulatedErp, str],
) -> None:
    simulated, url = erp
    assert run(SYNCS, database_url, url).success
    assert rows(warehouse, f"SELECT {ORDER_COLUMNS} FROM curated.work_order") == truth_orders(
        plant, simulated, NOW
    )
    materials = {(order[3],) for order in truth_orders(plant, simulated, NOW)}
    assert rows(warehouse, "SELECT material_id FROM curated.material") == materials
    assert rows(warehouse, LABOR_QUERY) == labor_truth(simulated)
    first = sync_log(warehouse)
    assert sorted((target, status) for target, status, *_ in first) == [
        ("curated.labor_confirmation", "success"),
        ("curated.material", "success"),
        ("curated.work_order", "success"),
    ]
    assert all(read == written > 0 for _, _, read, written, _ in first)

    # Half a day later: new orders were created, more shifts confirmed; only changes are read.
    later = NOW + dt.timedelta(hours=12)
    simulated.now = later
    assert run(SYNCS, database_url, url, now=later).success
    assert rows(warehouse, f"SELECT {ORDER_COLUMNS} FROM curated.work_order") == truth_orders(
        plant, simulated, later
    )
    assert rows(warehouse, LABOR_QUERY) == labor_truth(simulated)
    second = {target: (read, written) for target, _, read, written, _ in sync_log(warehouse)[3:]}
    orders_read, orders_written = second["curated.work_order"]
    assert 0 < orders_written <= orders_read < len(truth_orders(plant, simulated, later))

    # A third run (and a full one) writes nothing new.
    before = len(sync_log(warehouse))
    assert run(SYNCS, database_url, url, now=later).success
    assert run(SYNCS, database_url, url, now=later, full=True).success
    assert [written for _, _, _, written, _ in sync_log(warehouse)[before:]] == [0] * 6


@pytest.mark.parametrize(
    ("fault", "settings", "message"),
    [
        ("error", {}, "HTTP 500 Internal Server Error after 3 attempts: /IWBEP/CM_MGW_RT/001"),
        ("timeout", {"timeout_s": 0.5, "attempts": 2}, "ReadTimeout after 2 attempts"),
        ("malformed", {}, "HTTP 200: malformed JSON"),
        ("html", {}, "HTTP 200: HTML where JSON was expected (text/html"),
        ("odata_error", {}, "HTTP 400 Bad Request: /IWBEP/CM_MGW_RT/004: Order data is locked"),
        (None, {"password": "wrong"}, "HTTP 401"),
    ],
)
def test_a_failing_erp_fails_the_sync_clearly_and_leaves_the_tables_as_they_were(
    warehouse: ConnectionPool,
    database_url: str,
    erp: tuple[SimulatedErp, str],
    fault: Any,
    settings: dict[str, Any],
    message: str,
) -> None:
    simulated, url = erp
    assert run([erp_production_orders], database_url, url).success
    before = rows(warehouse, "SELECT * FROM curated.work_order")
    simulated.now = NOW + dt.timedelta(hours=12)
    simulated.fault, simulated.fault_after = fault, simulated.requests + 1  # after one page
    simulated.delay_s = 2.0

    result = run([erp_production_orders], database_url, url, full=True, **settings)

    assert not result.success
    failure = failure_of(result)
    assert "erp GET http://" in failure and "A_ProductionOrder_2" in failure
    assert message in failure
    assert rows(warehouse, "SELECT * FROM curated.work_order") == before
    target, status, *_, error = sync_log(warehouse)[-1]
    assert (target, status) == ("curated.work_order", "failed")
    assert message in error
    assert "s3cret" not in failure and "wrong" not in error


@pytest.mark.parametrize("fault", ["error", "timeout"])
def test_a_passing_failure_is_retried(
    warehouse: ConnectionPool,
    database_url: str,
    plant: PlantModel,
    erp: tuple[SimulatedErp, str],
    fault: Any,
) -> None:
    simulated, url = erp
    simulated.fault, simulated.fault_after, simulated.fault_times = fault, 1, 2
    simulated.delay_s = 2.0

    result = run([erp_production_orders], database_url, url, timeout_s=0.5, attempts=3)

    assert result.success
    orders = rows(warehouse, f"SELECT {ORDER_COLUMNS} FROM curated.work_order")
    assert orders == truth_orders(plant, simulated, NOW)


def test_an_answer_over_the_size_limit_is_refused(
    warehouse: ConnectionPool, database_url: str, erp: tuple[SimulatedErp, str]
) -> None:
    _, url = erp
    result = run([erp_production_orders], database_url, url, max_body_bytes=1000)
    failure = failure_of(result)
    assert "response larger than the limit of 1000 bytes" in failure
    assert rows(warehouse, "SELECT * FROM curated.work_order") == set()


def test_an_order_the_mes_runs_is_left_to_it_and_a_disagreement_is_reported(
    warehouse: ConnectionPool,
    database_url: str,
    plant: PlantModel,
    erp: tuple[SimulatedErp, str],
) -> None:
    simulated, url = erp
    erp_row = sorted(truth_orders(plant, simulated, NOW))[0]
    mes_row = (*erp_row[:6], 1234.0, "running", "mes")
    insert = f"INSERT INTO curated.work_order ({ORDER_COLUMNS}) VALUES ({', '.join(['%s'] * 9)})"
    with warehouse.connection() as conn:
        conn.execute(insert, mes_row)

    result = run([erp_production_orders], database_url, url)

    assert result.success
    query = f"SELECT {ORDER_COLUMNS} FROM curated.work_order WHERE work_order_id = '{erp_row[0]}'"
    assert rows(warehouse, query) == {mes_row}
    conflicts = (
        "SELECT work_order_id, column_name, mes_value, erp_value FROM curated.work_order_conflict"
    )
    assert rows(warehouse, conflicts) == {(erp_row[0], "planned_qty", "1234", f"{erp_row[6]:g}")}
    metadata = result.asset_materializations_for_node("erp_production_orders")[0].metadata
    assert metadata["conflicts"].value == 1

    # Once the MES agrees, the conflict is gone; when it disagrees again, it is back, although
    # the ERP's order did not change (an incremental sync reads nothing of it).
    with warehouse.connection() as conn:
        conn.execute("UPDATE curated.work_order SET planned_qty = %s", (erp_row[6],))
    assert run([erp_production_orders], database_url, url).success
    assert rows(warehouse, conflicts) == set()
    with warehouse.connection() as conn:
        conn.execute("UPDATE curated.work_order SET product_sku = 'OTHER'")
    assert run([erp_production_orders], database_url, url).success
    assert rows(warehouse, conflicts) == {(erp_row[0], "product_sku", "OTHER", erp_row[3])}


def test_a_bad_record_is_a_dead_letter_with_its_reason_and_the_others_load(
    warehouse: ConnectionPool,
    database_url: str,
    plant: PlantModel,
    erp: tuple[SimulatedErp, str],
) -> None:
    simulated, url = erp
    good, *_, negative, unmappable = sorted(truth_orders(plant, simulated, NOW))
    simulated.edits = {
        negative[0]: {"TotalQuantity": "-5.000"},
        unmappable[0]: {"MfgOrderPlannedStartTime": "25:00"},
    }

    result = run([erp_production_orders], database_url, url)

    assert result.success
    loaded = {row[0] for row in rows(warehouse, "SELECT work_order_id FROM curated.work_order")}
    assert good[0] in loaded and {negative[0], unmappable[0]}.isdisjoint(loaded)
    assert len(loaded) == len(truth_orders(plant, simulated, NOW)) - 2
    letters = rows(
        warehouse,
        "SELECT target, context->>'key', reason, record->>'ManufacturingOrder' "
        "FROM raw.dead_letter",
    )
    target = "API_PRODUCTION_ORDER_2_SRV/A_ProductionOrder_2"
    assert {(t, key, r.split(":")[0], order) for t, key, r, order in letters} == {
        (target, negative[0], "schema", negative[0]),
        (target, unmappable[0], f"A_ProductionOrder_2 '{unmappable[0]}'", unmappable[0]),
    }
    reasons = " ".join(r for _, _, r, _ in letters)
    assert "planned_qty: greater_than_or_equal_to(0)" in reasons
    assert "planned_start: not an OData time '25:00'" in reasons
    metadata = result.asset_materializations_for_node("erp_production_orders")[0].metadata
    assert metadata["dead_lettered"].value == 2
