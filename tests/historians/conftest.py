"""Fixtures of the historian tests: the plant in a warehouse, the recorded history, and the
simulated historians on real sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import AssetsDefinition, DagsterInstance, ExecuteInProcessResult, materialize
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from oee_pipelines.connectors.historian import HistorianConfig, load_historians
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.settings import PROJECT_DIR
from resources import ClockResource
from simulator import SimulatedPlant
from simulator.servers._http import JsonServer
from simulator.servers.aveva import SimulatedAvevaHistorian
from simulator.servers.historian import RecordedHistory, historian_tags
from simulator.servers.pi import SimulatedPiWebApi

SEED = 7
HISTORIANS_PATH = PROJECT_DIR / "config" / "historians.yaml"


@pytest.fixture(scope="session")
def historians() -> dict[str, HistorianConfig]:
    return load_historians(HISTORIANS_PATH)


@pytest.fixture(scope="session")
def pi_history(plant: PlantModel, historians: dict[str, HistorianConfig]) -> RecordedHistory:
    return RecordedHistory(SimulatedPlant(plant, SEED), historian_tags(historians["pi"].machines))


@pytest.fixture
def pi_api(pi_history: RecordedHistory) -> Iterator[tuple[SimulatedPiWebApi, JsonServer]]:
    api = SimulatedPiWebApi(pi_history)
    with api.serve() as server:
        yield api, server


NOW = "2026-11-23T06:10:00+00:00"


def backfill(
    asset: AssetsDefinition,
    resources: dict[str, object],
    first: str,
    last: str | None = None,
    instance: DagsterInstance | None = None,
) -> ExecuteInProcessResult:
    """Materialize the UTC days first..last of a historian asset in one run, as a backfill does."""
    return materialize(
        [asset],
        resources={
            "warehouse": resources.pop("warehouse"),
            "clock": ClockResource(pinned=NOW),
            **resources,
        },
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last or first},
        raise_on_error=False,
    )


@pytest.fixture(scope="session")
def aveva_history(plant: PlantModel, historians: dict[str, HistorianConfig]) -> RecordedHistory:
    return RecordedHistory(
        SimulatedPlant(plant, SEED), historian_tags(historians["aveva"].machines)
    )


@pytest.fixture
def aveva_api(
    aveva_history: RecordedHistory,
) -> Iterator[tuple[SimulatedAvevaHistorian, JsonServer]]:
    api = SimulatedAvevaHistorian(aveva_history, page_size=2000)
    with api.serve() as server:
        yield api, server
