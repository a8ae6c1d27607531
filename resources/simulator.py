"""The simulated plant as a Dagster resource: the demo's source and the tests' ground truth."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from oee_pipelines.plant_model import PlantModel
from simulator import SimulatedPlant


class SimulatorResource(ConfigurableResource):
    seed: int = Field(default=7, description="Seed of the simulated plant (OEE_SIMULATOR_SEED).")

    def plant(self, model: PlantModel) -> SimulatedPlant:
        return SimulatedPlant(model, seed=self.seed)
