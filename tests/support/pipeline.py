"""Materialize the whole code location into a test warehouse, as `oee demo` does."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg
from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from assets.oee.assets import oee_dbt_models
from oee_pipelines.dbt_project import dbt_resource
from oee_pipelines.definitions import SOURCES, Source, build_definitions
from oee_pipelines.plant_model import PlantModel, load_plant_model
from oee_pipelines.settings import PROJECT_DIR, Settings
from oee_pipelines.warehouse.context import DOWNTIME_EVENT, WORK_ORDER, upsert
from resources import ClockResource, PlantModelResource, SimulatorResource, WarehouseResource
from resources.erp import ErpResource
from resources.mes import MesResource
from simulator import SimulatedPlant, production_day_start
from simulator.servers.erp import serve_erp
from simulator.servers.mes import SimulatedMes

SEED = 7
PLANT_MODEL_PATH = PROJECT_DIR / "config" / "plant.yaml"
ERP_DAYS = 3
"""Days before now whose orders the simulated ERP holds."""
MES_DAYS = 2
"""Production days of work orders the simulated MES serves before now."""


def materialize_unpartitioned(
    database_url: str,
    now: str,
    run_config: dict[str, Any] | None = None,
    sources: Sequence[Source] = SOURCES,
) -> ExecuteInProcessResult:
    """Every unpartitioned asset and check of the code location, with now pinned; the MES and
    ERP assets sync with the simulated MES and ERP as of that now, as in `oee demo`."""
    settings = dataclasses.replace(
        Settings.from_env(), plant_model=PLANT_MODEL_PATH, simulator_seed=SEED
    )
    defs = build_definitions(settings, sources)
    assets = [item for item in defs.assets or [] if getattr(item, "partitions_def", None) is None]
    pinned = dt.datetime.fromisoformat(now)
    plant = load_plant_model(PLANT_MODEL_PATH)
    mes = SimulatedMes(plant, SEED, pinned.date() - dt.timedelta(days=MES_DAYS), pinned)
    since = pinned - dt.timedelta(days=ERP_DAYS)
    with serve_erp(plant, SEED, since, pinned) as (_, erp_url), mes.serve_rest() as mes_server:
        return materialize(
            [*assets, *(defs.asset_checks or [])],
            resources={
                "warehouse": WarehouseResource(database_url=database_url),
                "plant": PlantModelResource(path=str(PLANT_MODEL_PATH)),
                "simulator": SimulatorResource(seed=SEED),
                "clock": ClockResource(pinned=now),
                "dbt": dbt_resource(),
                "erp": ErpResource(base_url=erp_url),
                "mes": MesResource(rest_url=mes_server.url),
            },
            run_config=run_config or {},
            raise_on_error=False,
        )


def history_starts(plant: PlantModel, days: int, until: dt.datetime) -> dict[str, dt.datetime]:
    """Where the simulator_history asset starts each site's `days` of history up to `until`."""
    return {
        site.id: production_day_start(site, until.astimezone(site.tz).date() - dt.timedelta(days))
        for site in plant.sites
    }


def write_simulated_context(database_url: str, days: int, now: dt.datetime) -> None:
    """The lines' work orders of the history as of now (one still running has no actual end)
    and the machines' planned maintenance events, upserted as an MES sync or a downtime import
    would: the simulated MES holds only the last days' orders and reports no actuals, and no
    simulated source serves the maintenance plan, yet the simulator's ground truth has both."""
    plant = load_plant_model(PLANT_MODEL_PATH)
    simulated = SimulatedPlant(plant, seed=SEED)
    starts = history_starts(plant, days, now)
    orders, events = [], []
    for site, line in plant.lines():
        for order in simulated.work_orders(line.id, starts[site.id], now):
            done = order.end <= now
            orders.append(
                dataclasses.asdict(order)
                | {
                    "recipe_version": str(order.recipe_version),
                    "planned_start": order.start,
                    "planned_end": order.end,
                    "actual_start": order.start,
                    "actual_end": order.end if done else None,
                    "status": "completed" if done else "running",
                    "source": "simulator",
                }
            )
        events += [
            dataclasses.asdict(event)
            | {"start_ts": event.start, "end_ts": event.end, "source": "simulator"}
            for machine in line.machines
            for event in simulated.downtime_events(machine.id, starts[site.id], now)
        ]
    with psycopg.connect(database_url) as conn:
        upsert(conn, WORK_ORDER, [order for order in orders if order["actual_start"] < now])
        upsert(conn, DOWNTIME_EVENT, [event for event in events if event["start_ts"] < now])


def rebuild_rollups(
    database_url: str,
    now: str,
    full_refresh: bool = False,
    instance: DagsterInstance | None = None,
    expect_success: bool = True,
) -> ExecuteInProcessResult:
    """The dbt models alone, as the automation or the hourly schedule rebuilds them (or, with
    `full_refresh`, all of them from all data), in `instance` (else a new ephemeral one, which
    knows of no earlier build); the run succeeds, or with `expect_success` false, fails."""
    resources = {
        "warehouse": WarehouseResource(database_url=database_url),
        "clock": ClockResource(pinned=now),
        "dbt": dbt_resource(),
    }
    run_config = {"ops": {"oee_dbt_models": {"config": {"full_refresh": full_refresh}}}}
    result = materialize(
        [oee_dbt_models],
        resources=resources,
        run_config=run_config,
        instance=instance,
        raise_on_error=expect_success,  # an unexpected failure shows its error
    )
    assert result.success == expect_success
    return result
