"""A polled source inside the service: healthy while it runs, and what it holds at a stop is
written before the service exits."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse import TelemetryRecord
from realtime.batching import Intake
from realtime.source import Decoded
from tests.plc.support import rows, running, wait_until

T0 = dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)


class HandsOverAtStop:
    """A poller that holds one reading until it is told to stop, as a flush window does."""

    name = "handover"

    def __init__(self, machine_id: str) -> None:
        self.reading = TelemetryRecord(machine_id, "held", T0, 42.0)

    async def run(self, intake: Intake, disconnect: asyncio.Event) -> None:
        await disconnect.wait()
        accepted = await asyncio.to_thread(intake.put, self.name, Decoded(telemetry=[self.reading]))
        assert accepted, "the intake was closed before the poller handed over"


def test_a_poller_is_healthy_while_it_runs_and_its_last_readings_are_written(
    plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    machine_id = plant.machines()[0][2].id
    source = HandsOverAtStop(machine_id)
    with running(source, warehouse, tmp_path / "spool") as service:
        wait_until(lambda: service.metrics.health()[0], what="a healthy service")
        assert service.metrics.health()[1]["sources"] == {"handover": True}
    assert service.metrics.health()[1]["sources"] == {"handover": False}
    assert rows(warehouse, "SELECT machine_id, tag, ts, value FROM curated.telemetry") == [
        (machine_id, "held", T0, 42.0)
    ]
