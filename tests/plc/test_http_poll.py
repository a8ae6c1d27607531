"""HTTP polling: the realtime source against the simulated plant's sensor endpoint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from oee_pipelines.plant_model import PlantModel
from realtime.http_poll import HttpPollConfig, HttpPollSource
from simulator import SimulatedPlant
from simulator.servers._plc import PlcImage
from simulator.servers.http_sensors import HttpSensors
from tests.plc.support import rows, running, wait_until

T0 = dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)
ROOM, COOLANT = "/sensors/BER-L1-ENV", "/sensors/CHI-L1-COOLANT"


def config(url: str, **options: object) -> HttpPollConfig:
    return HttpPollConfig.model_validate(
        {"url": url, "poll_interval_s": 0.01, "timeout_s": 5, "backoff_max_s": 0.05, **options}
    )


def test_values_arrive_once_with_the_sensors_timestamp(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    sensors = HttpSensors(sim, lambda: T0)
    with sensors.serve() as server:
        source = HttpPollSource(
            plant, config(server.url), clock=lambda: T0 + dt.timedelta(seconds=1)
        )
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: min(source.polls[ROOM], source.polls[COOLANT]) > 3, what="polls")
    image = PlcImage(sim, "http")
    expected = sorted(
        (machine_id, tag, T0, value, "bad" if value is None else "good")
        for machine_id in image.tag_maps
        for tag, (value, _) in image.values(machine_id, T0).items()
    )
    found = rows(warehouse, "SELECT machine_id, tag, ts, value, quality FROM curated.telemetry "
                            "ORDER BY 1, 2")  # fmt: skip
    assert found == expected and len(found) == 3
    assert source.failures == {}


# The timeout stays far above a healthy answer's time, so that a loaded machine never makes the
# healthy sensor time out too; the slow sensor answers well after it.
@pytest.mark.parametrize("fault", ["failing", "slow"])
def test_5xx_and_timeouts_back_off_and_recover(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path, fault: str
) -> None:
    sensors = HttpSensors(sim, lambda: T0)
    if fault == "failing":
        sensors.failing.add(ROOM)
    else:
        sensors.slow[ROOM] = 5.0
    with sensors.serve() as server:
        source = HttpPollSource(plant, config(server.url, timeout_s=1.0), clock=lambda: T0)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.failures[ROOM] >= 3, what="failed polls")
            sensors.failing.clear()
            sensors.slow.clear()
            room = "SELECT 1 FROM curated.telemetry WHERE machine_id = 'BER-L1-FILLER'"
            wait_until(lambda: rows(warehouse, room), what="the recovery")
    assert source.failures[COOLANT] == 0
    assert rows(warehouse, "SELECT count(*) FROM raw.dead_letter") == [(0,)]


def test_a_slow_sensor_never_delays_the_others(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    sensors = HttpSensors(sim, lambda: T0)
    sensors.slow[ROOM] = 3.0
    with sensors.serve() as server:
        source = HttpPollSource(plant, config(server.url, timeout_s=10), clock=lambda: T0)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.polls[COOLANT] >= 5, what="the other sensor's polls")
            assert source.polls[ROOM] == 0  # its first answer is still on its way


def test_a_body_that_is_not_json_is_a_dead_letter(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    sensors = HttpSensors(sim, lambda: T0)
    sensors.garbled.add(COOLANT)
    with sensors.serve() as server:
        source = HttpPollSource(plant, config(server.url, poll_interval_s=60), clock=lambda: T0)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: rows(warehouse, "SELECT 1 FROM raw.dead_letter"), what="a letter")
            wait_until(lambda: rows(warehouse, "SELECT 1 FROM curated.telemetry"), what="rows")
    (letter,) = rows(warehouse, "SELECT source, reason, payload, context FROM raw.dead_letter")
    assert letter[0] == "http"
    assert letter[1].startswith(f"sensor {COOLANT}: answer is not a JSON reading: Expecting value")
    assert bytes(letter[2]) == b"<html>gateway error</html>"
    assert letter[3] == {"endpoint": f"{server.url}{COOLANT}"}
    tags = rows(warehouse, "SELECT DISTINCT machine_id FROM curated.telemetry")
    assert tags == [("BER-L1-FILLER",)]
