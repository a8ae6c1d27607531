"""Production confirmed to the simulated ERP: the counted parts of each ended order, once."""

from __future__ import annotations

import math
from collections import Counter

from psycopg_pool import ConnectionPool

from assets.erp.assets import erp_confirmations, erp_production_orders
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse import ProductionCountRecord, WarehouseWriter
from simulator import SimulatedPlant
from simulator.servers.erp import SimulatedErp
from tests.erp.conftest import NOW, SINCE, run
from tests.support.pipeline import SEED


def counted_per_order(plant: PlantModel) -> dict[str, tuple[int, int]]:
    """Good and rejected parts of each order ended by NOW, from the truth: the minute buckets
    (from SINCE) of the machines where its line counts, each in the order during which it
    starts; orders without a part are left out."""
    simulated = SimulatedPlant(plant, SEED)
    counted: dict[str, tuple[int, int]] = {}
    for _, line in plant.lines():
        machines = [m.id for m in line.machines if line.output_machine in (None, m.id)]
        buckets = [b for m in machines for b in simulated.count_buckets(m, SINCE, NOW)]
        for order in simulated.work_orders(line.id, SINCE, NOW):
            start, end = order.start.replace(microsecond=0), order.end.replace(microsecond=0)
            if end > NOW:
                continue
            inside = [b for b in buckets if start <= b.start < end]
            good, rejects = sum(b.good_count for b in inside), sum(b.reject_count for b in inside)
            if good or rejects:
                counted[order.work_order_id] = (good, rejects)
    return counted


def confirmed(erp: SimulatedErp) -> dict[str, tuple[int, int]]:
    """Yield and scrap the ERP holds as confirmed, per order."""
    return {
        order: (int(record.yield_qty), int(record.scrap_qty))
        for order, record in erp.posted.items()
    }


def write_counts(pool: ConnectionPool, plant: PlantModel) -> None:
    simulated = SimulatedPlant(plant, SEED)
    WarehouseWriter(pool).write_production_counts(
        (
            ProductionCountRecord(m.id, b.start, b.end, b.good_count, b.reject_count)
            for _, line, m in plant.machines()
            for b in simulated.count_buckets(m.id, SINCE, NOW)
        ),
        "simulator",
    )


def test_each_ended_order_is_confirmed_once_with_what_the_warehouse_counted(
    warehouse: ConnectionPool,
    database_url: str,
    plant: PlantModel,
    erp: tuple[SimulatedErp, str],
) -> None:
    simulated, url = erp
    write_counts(warehouse, plant)
    expected = counted_per_order(plant)
    assert expected

    assert run([erp_production_orders, erp_confirmations], database_url, url).success

    assert confirmed(simulated) == expected
    assert all(len(record.confirmations) == 1 for record in simulated.posted.values())
    assert all(record.final for record in simulated.posted.values())

    # A second run sends nothing; the ERP now reports those orders as completed.
    assert run([erp_production_orders, erp_confirmations], database_url, url).success
    assert sum(len(record.confirmations) for record in simulated.posted.values()) == len(expected)
    with warehouse.connection() as conn:
        log = conn.execute(
            "SELECT operation, target, status, rows_written FROM audit.sync_log"
        ).fetchall()
        completed = conn.execute(
            "SELECT work_order_id FROM curated.work_order WHERE status = 'completed'"
        ).fetchall()
    posts = Counter(row for row in log if row[0] == "confirm")
    assert posts == {
        ("confirm", "API_PROD_ORDER_CONFIRMATION_2_SRV/ProdnOrdConf2", "success", 1): len(expected)
    }
    assert {row[0] for row in completed} == set(expected)


def test_a_refused_confirmation_fails_the_run_is_logged_and_is_sent_by_the_next_run(
    warehouse: ConnectionPool,
    database_url: str,
    plant: PlantModel,
    erp: tuple[SimulatedErp, str],
) -> None:
    simulated, url = erp
    write_counts(warehouse, plant)
    assert run([erp_production_orders], database_url, url).success
    pages = math.ceil(len(simulated.orders()) / simulated.page_size)
    # The order pages and the CSRF token come; the first POST is refused.
    simulated.fault, simulated.fault_after, simulated.fault_times = "odata_error", pages + 1, 1
    simulated.fault_after += simulated.requests

    assert not run([erp_confirmations], database_url, url).success
    assert simulated.posted == {}
    with warehouse.connection() as conn:
        failed = conn.execute(
            "SELECT status, error FROM audit.sync_log WHERE operation = 'confirm'"
        ).fetchall()
    assert [status for status, _ in failed] == ["failed"]
    assert "HTTP 400 Bad Request: /IWBEP/CM_MGW_RT/004: Order data is locked" in failed[0][1]

    assert run([erp_confirmations], database_url, url).success
    assert confirmed(simulated) == counted_per_order(plant)
