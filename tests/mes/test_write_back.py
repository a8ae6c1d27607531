"""Actuals measured in the warehouse reach the simulated MES once, over REST and SOAP."""

from __future__ import annotations

import itertools

import psycopg
import pytest

from assets.mes.assets import mes_changeovers, mes_write_back
from oee_pipelines.warehouse import Plausibility, ProductionCountRecord, WarehouseWriter
from simulator import SimulatedPlant, production_day_start
from tests.mes.conftest import FIRST_DAY, NOW, SEED, configured, sync_log

pytestmark = pytest.mark.slow  # real HTTP, real warehouse, Dagster runs


@pytest.fixture
def counted(warehouse, plant) -> dict[str, list[ProductionCountRecord]]:
    """The parts counted at each line's output machine since the first day, in the warehouse."""
    simulated = SimulatedPlant(plant, SEED)
    counts = {}
    for site, line in plant.lines():
        start = production_day_start(site, FIRST_DAY)
        counts[line.id] = [
            ProductionCountRecord(b.machine_id, b.start, b.end, b.good_count, b.reject_count)
            for b in simulated.count_buckets(line.output_machine or "", start, NOW)
        ]
    writer = WarehouseWriter(warehouse, Plausibility(now=lambda: NOW))
    writer.write_production_counts(itertools.chain(*counts.values()), "simulator")
    return counts


def test_actuals_reach_the_mes_once(database_url, mes, resource, run, counted) -> None:
    assert run(resource).success
    assert run(resource, mes_write_back).success
    with psycopg.connect(database_url) as conn:
        planned = {
            order_id: (start, end)
            for order_id, start, end in conn.execute(
                "SELECT work_order_id, planned_start, planned_end FROM curated.work_order"
            )
        }
    expected = {}
    for order in mes.holdings().work_orders:
        start, end = planned[order.work_order_id]
        inside = [c for c in counted[order.line_id] if start <= c.start_ts < end]
        if order.status == "completed" and inside:
            expected[order.work_order_id] = (
                min(c.start_ts for c in inside),
                max(c.end_ts for c in inside),
                float(sum(c.good_count for c in inside)),
            )
    protocol = "rest" if resource.rest_url else "soap"
    reported = {
        actual.work_order_id: (actual.actual_start, actual.actual_end, actual.produced_qty)
        for _, actual in mes.reports
    }
    assert expected and reported == expected
    assert {how for how, _ in mes.reports} == {protocol}
    assert len(mes.reports) == len(expected)

    assert run(resource, mes_write_back).success  # nothing changed: nothing is sent again
    assert len(mes.reports) == len(expected)
    calls = sync_log(database_url, "write-back")
    assert [status for status, *_ in calls] == ["success"] * len(expected)


def test_changeovers_follow_the_work_orders_of_each_line(
    warehouse, database_url, mes, rest_server, run
) -> None:
    resource = configured(rest_url=rest_server.url)
    assert run(resource).success
    assert run(resource, mes_changeovers).success
    holdings = mes.holdings()
    plan = {entry.work_order_id: entry.planned_start for entry in holdings.schedule}
    expected = []
    for _, orders in itertools.groupby(
        sorted(holdings.work_orders, key=lambda o: (o.line_id, plan[o.work_order_id])),
        key=lambda o: o.line_id,
    ):
        for before, after in itertools.pairwise(list(orders)):
            changed = (before.recipe_id, before.recipe_version) != (
                after.recipe_id,
                after.recipe_version,
            )
            expected.append(
                (
                    after.line_id,
                    plan[after.work_order_id],
                    before.work_order_id,
                    after.work_order_id,
                    changed,
                    1800.0,
                )
            )
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT line_id, start_ts, from_work_order_id, to_work_order_id, recipe_changed,"
            " planned_duration_s FROM curated.changeover ORDER BY line_id, start_ts"
        ).fetchall()
    assert rows == expected
    assert any(changed for *_, changed, _ in rows) and not all(changed for *_, changed, _ in rows)
    assert run(resource, mes_changeovers).success
    assert [written for _, _, written, _ in sync_log(database_url, "derive")] == [len(rows), 0]
