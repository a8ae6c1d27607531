"""The plant model: the ISA-95 hierarchy and shift calendars every other source refers to."""

from dagster import Definitions

from assets.plant.assets import plant_model
from oee_pipelines.settings import Settings
from resources import PlantModelResource


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[plant_model],
        resources={"plant": PlantModelResource(path=str(settings.plant_model))},
    )
