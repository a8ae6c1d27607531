"""Materialize the whole code location into a test warehouse, as `oee demo` does."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from dagster import ExecuteInProcessResult, materialize

from oee_pipelines.dbt_project import dbt_resource
from oee_pipelines.definitions import SOURCES, Source, build_definitions
from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.settings import PROJECT_DIR, Settings
from resources import ClockResource, PlantModelResource, SimulatorResource, WarehouseResource
from resources.erp import ErpResource
from resources.mes import MesResource
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
