"""Fixtures of the ERP tests: the plant in a warehouse, the simulated SAP ERP on a real socket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from dagster import AssetsDefinition, ExecuteInProcessResult, materialize

from oee_pipelines.plant_model import PlantModel
from resources import ClockResource, PlantModelResource, WarehouseResource
from resources.erp import ErpResource
from simulator.servers._http import Credentials
from simulator.servers.erp import PREFIX, SimulatedErp
from tests.support.pipeline import PLANT_MODEL_PATH, SEED

NOW = dt.datetime(2026, 11, 23, 6, 10, tzinfo=dt.UTC)
SINCE = NOW - dt.timedelta(days=2)
USER, PASSWORD = "OEE_SYNC", "s3cret"


@pytest.fixture
def erp(plant: PlantModel) -> Iterator[tuple[SimulatedErp, str]]:
    """The simulated ERP (small pages, so every pull pages) and its OData base URL."""
    simulated = SimulatedErp(
        plant, SEED, SINCE, NOW, page_size=7, credentials=Credentials(USER, PASSWORD)
    )
    with simulated.serve() as server:
        yield simulated, f"{server.url}{PREFIX}"


def run(
    assets: list[AssetsDefinition],
    database_url: str,
    url: str,
    *,
    now: dt.datetime = NOW,
    full: bool = False,
    **erp: Any,
) -> ExecuteInProcessResult:
    """Materialize ERP assets against the simulated ERP, with now pinned; retries without
    waiting, and a short timeout."""
    settings = {"username": USER, "password": PASSWORD, "backoff_s": 0.0, "timeout_s": 2.0} | erp
    sync_config = {"config": {"full": full}}
    return materialize(
        assets,
        resources={
            "warehouse": WarehouseResource(database_url=database_url),
            "erp": ErpResource(base_url=url, **settings),
            "plant": PlantModelResource(path=str(PLANT_MODEL_PATH)),
            "clock": ClockResource(pinned=now.isoformat()),
        },
        run_config={
            "ops": {
                asset.op.name: sync_config
                for asset in assets
                if asset.op.name != "erp_confirmations"
            }
        },
        raise_on_error=False,
    )
