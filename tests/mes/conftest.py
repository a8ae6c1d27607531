"""Fixtures of the MES tests: the plant in a warehouse, the simulated MES on real sockets, and
a sync run as Dagster runs it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from dagster import AssetsDefinition, ExecuteInProcessResult, materialize

from assets.mes.assets import mes_sync
from oee_pipelines.connectors.mes import MesChanges
from oee_pipelines.plant_model import PlantModel
from resources import PlantModelResource, WarehouseResource
from resources.mes import MesResource
from simulator.servers._http import Credentials, HttpServer
from simulator.servers.mes import SOAP_PATH, SimulatedMes

SEED = 7
FIRST_DAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 21, 6, 10, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=10)
USER, PASSWORD = "oee-sync", "s3cret"

Tables = dict[str, list[tuple[Any, ...]]]

_TABLES = {
    "work_order": "SELECT work_order_id, site_id, line_id, product_sku, recipe_id, recipe_version,"
    " planned_start, planned_end, planned_qty, status, priority FROM curated.work_order",
    "recipe": "SELECT recipe_id, version, product_sku, line_id, ideal_cycle_time_s, setup_time_s,"
    " teardown_time_s, valid_from FROM curated.recipe",
    "shift_assignment": "SELECT site_id, line_id, shift_start, operator_ids"
    " FROM curated.shift_assignment",
}


@pytest.fixture
def mes(plant: PlantModel) -> SimulatedMes:
    return SimulatedMes(
        plant, SEED, FIRST_DAY, NOW, credentials=Credentials(USER, PASSWORD), page_size=20
    )


@pytest.fixture
def rest_server(mes: SimulatedMes) -> Iterator[HttpServer]:
    with mes.serve_rest() as server:
        yield server


@pytest.fixture
def soap_server(mes: SimulatedMes) -> Iterator[HttpServer]:
    with mes.serve_soap() as server:
        yield server


@pytest.fixture(params=["rest", "soap"])
def resource(request: pytest.FixtureRequest) -> MesResource:
    """The MES resource pointed at the simulated REST API or SOAP service."""
    if request.param == "rest":
        url = request.getfixturevalue("rest_server").url
        return configured(rest_url=url)
    url = request.getfixturevalue("soap_server").url + SOAP_PATH
    return configured(soap_url=url)


def configured(**settings: Any) -> MesResource:
    return MesResource(
        **{
            "username": USER,
            "password": PASSWORD,
            "page_size": 20,
            "backoff_s": 0.0,
            "attempts": 2,
            **settings,
        }
    )


Run = Callable[..., ExecuteInProcessResult]


@pytest.fixture
def run(database_url: str, plant_model_path: Any) -> Run:
    """Materialize MES assets (the sync by default) against this test's warehouse."""

    def materialized(
        mes: MesResource, *assets: AssetsDefinition, full: bool = False
    ) -> ExecuteInProcessResult:
        chosen = list(assets or [mes_sync])
        config = {"ops": {"mes_sync": {"config": {"full": full}}}} if mes_sync in chosen else {}
        return materialize(
            chosen,
            resources={
                "mes": mes,
                "warehouse": WarehouseResource(database_url=database_url),
                "plant": PlantModelResource(path=str(plant_model_path)),
            },
            run_config=config,
            raise_on_error=False,
        )

    return materialized


def tables(database_url: str) -> Tables:
    """The curated rows an MES sync writes, sorted."""
    with psycopg.connect(database_url) as conn:
        return {name: sorted(conn.execute(query).fetchall()) for name, query in _TABLES.items()}


def expected(holdings: MesChanges) -> Tables:
    """The rows the warehouse should hold after syncing `holdings`."""
    plan = {entry.work_order_id: entry for entry in holdings.schedule}
    return {
        "work_order": sorted(
            (
                o.work_order_id,
                o.site_id,
                o.line_id,
                o.product_sku,
                o.recipe_id,
                o.recipe_version,
                plan[o.work_order_id].planned_start,
                plan[o.work_order_id].planned_end,
                o.planned_qty,
                o.status,
                plan[o.work_order_id].priority,
            )
            for o in holdings.work_orders
        ),
        "recipe": sorted(
            (
                r.recipe_id,
                r.version,
                r.product_sku,
                r.line_id,
                r.ideal_cycle_time_s,
                r.setup_time_s,
                r.teardown_time_s,
                r.valid_from,
            )
            for r in holdings.recipes
        ),
        "shift_assignment": sorted(
            (s.site_id, s.line_id, s.shift_start, list(s.operator_ids)) for s in holdings.shifts
        ),
    }


def sync_log(database_url: str, operation: str = "sync") -> list[tuple[Any, ...]]:
    """(status, rows_read, rows_written, error) of the MES's audit rows, oldest first."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT status, rows_read, rows_written, error FROM audit.sync_log"
            " WHERE source_system = 'mes' AND operation = %s ORDER BY sync_id",
            (operation,),
        ).fetchall()


def failure(result: ExecuteInProcessResult, node: str = "mes_sync") -> str:
    """The message of the step's failure and of the errors that caused it."""
    error = result.failure_data_for_node(node).error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)
