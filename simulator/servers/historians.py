"""Both simulated historians at once, for `oee demo` and `oee simulate`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oee_pipelines.connectors.historian import load_historians
from oee_pipelines.plant_model import PlantModel
from simulator import SimulatedPlant

from .aveva import SimulatedAvevaHistorian
from .historian import RecordedHistory, historian_tags
from .pi import SimulatedPiWebApi


@contextmanager
def serve_historians(plant: PlantModel, seed: int, config_path: Path) -> Iterator[dict[str, str]]:
    """The simulated PI Web API and AVEVA Historian serving the tags of `config_path`; yields
    the environment (`OEE_PI_URL`, `OEE_AVEVA_URL`) that points the code location at them."""
    historians = load_historians(config_path)
    simulated = SimulatedPlant(plant, seed)
    pi = SimulatedPiWebApi(
        RecordedHistory(simulated, historian_tags(historians["pi"].machines))
    ).serve()
    aveva = SimulatedAvevaHistorian(
        RecordedHistory(simulated, historian_tags(historians["aveva"].machines))
    ).serve()
    with pi, aveva:
        yield {"OEE_PI_URL": f"{pi.url}/piwebapi", "OEE_AVEVA_URL": f"{aveva.url}/Historian/v2"}
