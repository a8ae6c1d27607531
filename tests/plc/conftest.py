"""Fixtures of the PLC source tests: the simulated plant and the warehouse holding its machines."""

from __future__ import annotations

import datetime as dt

import pytest

from oee_pipelines.plant_model import PlantModel
from simulator import SimulatedPlant
from tests.plc.support import with_plant


@pytest.fixture
def sim(plant: PlantModel) -> SimulatedPlant:
    return SimulatedPlant(plant)


@pytest.fixture
def warehouse(database_url: str, plant: PlantModel) -> str:
    """This test's warehouse, holding the plant model's sites, lines and machines."""
    with_plant(database_url, plant)
    return database_url


@pytest.fixture
def day() -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)
