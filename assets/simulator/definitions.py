"""The simulated plant as a source: its history backfill and its resource."""

from dagster import Definitions

from assets.simulator.assets import simulator_history
from oee_pipelines.settings import Settings
from resources import SimulatorResource


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[simulator_history],
        resources={"simulator": SimulatorResource(seed=settings.simulator_seed)},
    )
