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
from resources.mes import MesResource
from simulator.servers.mes import SimulatedMes

SEED = 7
PLANT_MODEL_PATH = PROJECT_DIR / "config" / "plant.yaml"
MES_DAYS = 2
"""Production days of work orders the simulated MES serves before now."""


def materialize_unpartitioned(
    database_url: str,
    now: str,
    run_config: dict[str, Any] | None = None,
    sources: Sequence[Source] = SOURCES,
) -> ExecuteInProcessResult:
    """Every unpartitioned asset and check of the code location, with now pinned; the MES
    assets sync from the simulated MES as of that now."""
    settings = dataclasses.replace(
        Settings.from_env(), plant_model=PLANT_MODEL_PATH, simulator_seed=SEED
    )
    defs = build_definitions(settings, sources)
    assets = [item for item in defs.assets or [] if getattr(item, "partitions_def", None) is None]
    pinned = dt.datetime.fromisoformat(now)
    first_day = pinned.date() - dt.timedelta(days=MES_DAYS)
    mes = SimulatedMes(load_plant_model(PLANT_MODEL_PATH), SEED, first_day, pinned)
    with mes.serve_rest() as mes_server:
        return materialize(
            [*assets, *(defs.asset_checks or [])],
            resources={
                "warehouse": WarehouseResource(database_url=database_url),
                "plant": PlantModelResource(path=str(PLANT_MODEL_PATH)),
                "simulator": SimulatorResource(seed=SEED),
                "clock": ClockResource(pinned=now),
                "dbt": dbt_resource(),
                "mes": MesResource(rest_url=mes_server.url),
            },
            run_config=run_config or {},
            raise_on_error=False,
        )
