"""Dagster resources: one small typed interface per external system."""

from resources.clock import ClockResource
from resources.plant import PlantModelResource
from resources.simulator import SimulatorResource
from resources.warehouse import WarehouseResource

__all__ = ["ClockResource", "PlantModelResource", "SimulatorResource", "WarehouseResource"]
