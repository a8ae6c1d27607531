"""Modbus TCP: the realtime source polling the simulated plant's pymodbus server."""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from pathlib import Path

import pytest

from oee_pipelines.connectors.modbus import ORDERS, RegisterAddress
from oee_pipelines.plant_model import PlantModel
from realtime.modbus import ModbusConfig, ModbusSource
from simulator import SimulatedPlant
from simulator.servers._plc import PlcImage
from simulator.servers.modbus import serving_modbus
from simulator.servers.mqtt import plc_changes
from tests.plc.support import SteppingClock, rows, running, wait_until
from tests.simulator.test_servers_mqtt import truth_states

PRESS1, PRESS2 = "BER-L2-PRESS1", "BER-L2-PRESS2"
US = dt.timedelta(microseconds=1)
WORD_TAGS = {
    f"{kind}_{order}": f"unit=1;hr={20 + 2 * i};{kind};order={order};{scaling}"
    for i, (kind, order, scaling) in enumerate(
        (kind, order, scaling)
        for (kind, scaling), order in itertools.product(
            (("int32", "scale=0.001;offset=200"), ("uint32", "scale=0.001"), ("float32", "")),
            ORDERS,
        )
    )
}
"""One telemetry tag per 32-bit type and word order (int32 scaled below zero)."""


def with_tags(plant: PlantModel, machine_id: str, tags: dict[str, str]) -> PlantModel:
    document = plant.model_dump(mode="json")
    for site in document["sites"]:
        for line in site["lines"]:
            for machine in line["machines"]:
                if machine["id"] == machine_id:
                    for tag, address in tags.items():
                        machine["tag_map"]["modbus"][tag] = {"address": address, "unit": "bar"}
    return PlantModel.model_validate(document)


def config(port: int, **options: object) -> ModbusConfig:
    return ModbusConfig.model_validate(
        {
            "port": port,
            "poll_interval_s": 0.001,
            "timeout_s": 0.5,  # far above a healthy answer, even on a loaded machine
            "machines": {PRESS2: {"enabled": False}},
            **options,
        }  # fmt: skip
    )


@pytest.mark.parametrize(
    ("kind", "order", "value"),
    [(k, o, v) for k, o in itertools.product(("int32", "uint32"), ORDERS) for v in (0, 70000)]
    + [("float32", o, v) for o in ORDERS for v in (-1.5, 23.306)]
    + [("int16", "ABCD", -2), ("uint16", "ABCD", 65535)],
)
def test_every_type_and_word_order_round_trips(kind: str, order: str, value: float) -> None:
    entry = RegisterAddress.parse(f"unit=3;ir=7;{kind};order={order}")
    assert entry.decode(entry.encode(value)) == pytest.approx(value)


def test_word_orders_put_the_bytes_where_they_say() -> None:
    words = {o: RegisterAddress.parse(f"unit=1;hr=0;uint32;order={o}").encode(0x11223344)
             for o in ORDERS}  # fmt: skip
    assert words == {
        "ABCD": [0x1122, 0x3344],
        "CDAB": [0x3344, 0x1122],
        "BADC": [0x2211, 0x4433],
        "DCBA": [0x4433, 0x2211],
    }


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("unit=1;hr=0;float64", "unknown type 'float64'"),
        ("hr=0", "needs unit=<id>"),
        ("unit=1;hr=0;co=1", "needs unit=<id>"),
        ("unit=1;co=0;uint16", "co holds bits"),
        ("unit=1;hr=0;uint32;order=ACBD", "order ACBD"),
        ("unit=1;hr=x", "are numbers"),
    ],
)
def test_bad_addresses_say_what_is_wrong(address: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RegisterAddress.parse(address)


def test_values_arrive_once_scaled_with_the_poll_instant(
    plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    model = with_tags(plant, PRESS1, WORD_TAGS)
    sim = SimulatedPlant(model)
    instants = [dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC) + dt.timedelta(seconds=s)
                for s in range(0, 50, 5)]  # fmt: skip
    shown = [instants[0]]
    clock = SteppingClock(instants, lambda at: shown.__setitem__(0, at))
    with serving_modbus(sim, lambda: shown[0]) as (_, port):
        source = ModbusSource(model, config(port), clock)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: clock.done and source.polls[PRESS1] > len(instants), what="polls")
    image = PlcImage(sim, "modbus")
    expected = {
        (tag, at): value for at in instants for tag, (value, _) in image.values(PRESS1, at).items()
    }
    found = rows(warehouse, "SELECT tag, ts, value, quality FROM curated.telemetry "
                            "WHERE machine_id = %s", PRESS1)  # fmt: skip
    assert len(found) == len(expected) == len(instants) * (4 + len(WORD_TAGS))
    for tag, ts, value, quality in found:
        if expected[tag, ts] is None:  # lost by the plant: NaN in a float, 0 in an integer
            assert (value, quality) == (None, "bad") or not tag.startswith("float32")
            continue
        assert value == pytest.approx(expected[tag, ts], rel=1e-6, abs=1e-3), (tag, ts)
        assert quality == "good"
    # int32 values below their offset of 200: negative raw register values, read back
    assert any(v < 200 for t, _, v, _ in found if t.startswith("int32"))


def test_state_and_count_tables_equal_the_simulators_truth(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    order = sim.work_orders("BER-L2", dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC),
                            dt.datetime(2026, 3, 4, 6, tzinfo=dt.UTC))[1]  # fmt: skip
    start, end = order.start - dt.timedelta(minutes=30), order.start + dt.timedelta(minutes=30)
    instants = [ts for ts, _ in plc_changes(sim, PRESS1, start, end, {})]
    shown = [start]
    clock = SteppingClock(instants, lambda at: shown.__setitem__(0, at))
    with serving_modbus(sim, lambda: shown[0]) as (_, port):
        source = ModbusSource(plant, config(port), clock)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: clock.done and source.polls[PRESS1] > len(instants),
                       timeout=120, what="every change polled")  # fmt: skip
    last = instants[-1]
    states = rows(warehouse, "SELECT machine_id, start_ts, end_ts, state, reason_code "
                             "FROM curated.machine_state ORDER BY start_ts")  # fmt: skip
    truth = truth_states(sim, PRESS1, start, last + US, US)
    assert [(s.start_ts, s.end_ts, s.state) for s in truth] == [r[1:4] for r in states]
    counts = rows(
        warehouse,
        "SELECT sum(good_count), sum(reject_count) "
        "FROM curated.production_count WHERE machine_id = %s",
        PRESS1,
    )
    cycles = sim.cycles(PRESS1, start + US, last + US)
    assert counts == [(sum(c.good for c in cycles), sum(not c.good for c in cycles))]
    assert sim.counters(PRESS1, order.start - US)[0] > 0  # the window holds a counter reset


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_unit_that_stops_answering_is_offline_and_loses_no_part(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    start = dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)  # the press runs (at 09:00 a break begins)
    instants = [start + dt.timedelta(seconds=30 * i) for i in range(40)]
    made = len(sim.cycles(PRESS1, start + US, instants[-1] + US))
    assert made > 0  # parts to lose while the unit is silent
    shown = [start]
    with serving_modbus(sim, lambda: shown[0]) as (units, port):

        def step(at: dt.datetime) -> None:
            shown[0] = at
            if at == instants[10]:
                units.silent.add(1)
            if at == instants[20]:
                units.silent.discard(1)

        clock = SteppingClock(instants, step)
        source = ModbusSource(plant, config(port, offline_after=3), clock)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: clock.done and source.polls[PRESS1] > len(instants), what="polls")
    assert source.timeouts[PRESS1] == 10
    offline = rows(
        warehouse,
        "SELECT start_ts, end_ts FROM curated.machine_state "
        "WHERE machine_id = %s AND state = 'offline'",
        PRESS1,
    )
    assert offline == [(instants[10], instants[20])]
    stale = rows(
        warehouse,
        "SELECT value, quality FROM curated.telemetry WHERE machine_id = %s "
        "AND tag = 'hydraulic_pressure' AND ts = %s",
        PRESS1,
        instants[10],
    )
    assert stale == [(None, "bad")]
    counts = rows(
        warehouse,
        "SELECT sum(good_count) + sum(reject_count) "
        "FROM curated.production_count WHERE machine_id = %s",
        PRESS1,
    )
    assert counts == [(made,)]
    gc.collect()  # pymodbus 3.16 leaves the socket of a timed-out request unclosed: found here


def test_an_exception_response_is_reported_per_entry_and_the_rest_flows(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    model = with_tags(plant, PRESS1, {"ghost": "unit=1;hr=120"})  # beyond the unit's memory
    with serving_modbus(sim, lambda: dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)) as (_, port):
        source = ModbusSource(model, config(port))
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.polls[PRESS1] > 3, what="polls")
    letters = rows(warehouse, "SELECT source, reason, context FROM raw.dead_letter")
    assert letters == [(
        "modbus",
        "BER-L2-PRESS1 ghost (unit 1 hr 120): exception code 2",
        {"endpoint": f"127.0.0.1:{port}", "machine_id": PRESS1, "tag": "ghost"},
    )]  # fmt: skip
    tags = rows(warehouse, "SELECT DISTINCT tag FROM curated.telemetry ORDER BY tag")
    assert tags == [("good_count",), ("hydraulic_pressure",), ("reject_count",), ("state",)]


def test_a_poll_slower_than_its_interval_skips_the_next_without_pile_up(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    with serving_modbus(sim, lambda: dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)) as (units, port):
        units.slow[1] = 0.05
        source = ModbusSource(plant, config(port, poll_interval_s=0.01))
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.polls[PRESS1] > 5, what="polls")
    assert source.skipped[PRESS1] >= source.polls[PRESS1] - 1 > 0
    assert units.most_in_flight[1] == 1
