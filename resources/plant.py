"""The plant model file as a Dagster resource."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from oee_pipelines.plant_model import PlantModel, load_plant_model


class PlantModelResource(ConfigurableResource):
    """Where the plant model lives (OEE_PLANT_MODEL), read afresh by every run."""

    path: str = Field(description="Path of the plant model YAML file.")

    def load(self) -> PlantModel:
        return load_plant_model(self.path)
