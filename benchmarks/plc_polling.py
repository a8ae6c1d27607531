"""Throughput of the PLC sources of `oee realtime run`, each against its raw client.

OPC UA: one asyncua server (a process of its own) with 5,000 variables that all change every
second; the realtime source subscribes to all of them and hands its records to an intake that a
thread empties (the warehouse is `benchmarks.realtime_ingest`'s subject), and the baseline is an
asyncua subscription whose handler only counts. Figure: monitored items per second, sustained.

Modbus: 50 units of a pymodbus server (a process of its own), each with 10 float32 values (20
registers), polled every 100 ms by the realtime source, and by a raw pymodbus client per unit
that reads the same registers and does nothing with them. Figure: registers per second.

Each phase runs for `SECONDS` after a warm-up, one after the other, in the same run. Beside
each rate, the CPU time this process spent per value (the servers' processes not included).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple

from asyncua import Client, Server, ua

from oee_pipelines.plant_model import PlantModel
from realtime.batching import Intake
from realtime.modbus import ModbusConfig, ModbusSource
from realtime.opcua import OpcUaConfig, OpcUaSource, monitored_item

ITEMS = 5_000
UNITS = 50
VALUES_PER_UNIT = 10
POLL_S = 0.1
SECONDS = 15.0
WARM_UP_S = 5.0
OPCUA_PORT = 48_840
MODBUS_PORT = 45_020


def _plant(source: str, machines: int, tags: int, address: Callable[[int, int], str]) -> PlantModel:
    return PlantModel.model_validate(
        {
            "sites": [
                {
                    "id": "B",
                    "name": "Bench",
                    "timezone": "UTC",
                    "shifts": [],
                    "lines": [
                        {
                            "id": "B-L",
                            "name": "Bench line",
                            "machines": [
                                {
                                    "id": f"B-M{m}",
                                    "name": f"Machine {m}",
                                    "ideal_cycle_time_s": 1.0,
                                    "tag_map": {
                                        source: {
                                            f"t{t}": {"address": address(m, t)} for t in range(tags)
                                        }
                                    },
                                }
                                for m in range(machines)
                            ],
                        }
                    ],
                }
            ]
        }
    )


def _node(m: int, t: int) -> str:
    return f"ns=2;s=bench/{m}/{t}"


# --- the servers, each in a process of its own ------------------------------------------------


def _opcua_server(ready: Any, stop: Any) -> None:
    async def serve() -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{OPCUA_PORT}/bench/")
        await server.register_namespace("urn:oee:bench")
        nodes = []
        for i in range(ITEMS):
            node = ua.NodeId.from_string(_node(i // 100, i % 100))
            await server.nodes.objects.add_variable(node, f"2:v{i}", 0.0)
            nodes.append(node)
        async with server:
            ready.set()
            tick = 0
            while not stop.is_set():
                started = time.monotonic()
                tick += 1
                for i, node in enumerate(nodes):
                    await server.write_attribute_value(
                        node, ua.DataValue(ua.Variant(float(tick * 10_000 + i)))
                    )
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    asyncio.run(serve())


def _modbus_server(ready: Any, stop: Any) -> None:
    from pymodbus.constants import ExcCodes
    from pymodbus.datastore import ModbusServerContext
    from pymodbus.server import ModbusTcpServer

    class Units(ModbusServerContext):
        def __init__(self) -> None:
            self.old_simulator = True
            self.simdevices = []

        def device_ids(self) -> list[int]:
            return list(range(1, UNITS + 1))

        async def async_getValues(  # noqa: N802
            self, device_id: int, func_code: int, address: int, count: int = 1
        ) -> list[int] | ExcCodes:
            tick = int(time.monotonic() * 10) & 0xFFFF
            return [(tick + device_id + a) & 0xFFFF for a in range(address, address + count)]

    async def serve() -> None:
        server = ModbusTcpServer(Units(), address=("127.0.0.1", MODBUS_PORT))
        await server.listen()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await server.shutdown()

    asyncio.run(serve())


def _process(target: Callable[[Any, Any], None]) -> tuple[multiprocessing.Process, Any]:
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    process = multiprocessing.Process(target=target, args=(ready, stop), daemon=True)
    process.start()
    if not ready.wait(120):
        raise RuntimeError(f"{target.__name__} did not start")
    return process, stop


# --- the phases -------------------------------------------------------------------------------


class Rate(NamedTuple):
    per_s: float
    cpu_us: float
    """This process's CPU time per value, in microseconds."""


class _Counting:
    """Counts what arrives, after the warm-up."""

    def __init__(self) -> None:
        self.count = 0
        self.counting = False

    def add(self, n: int) -> None:
        if self.counting:
            self.count += n


async def _measure(counter: _Counting) -> Rate:
    await asyncio.sleep(WARM_UP_S)
    counter.counting = True
    started, cpu = time.monotonic(), time.process_time()
    await asyncio.sleep(SECONDS)
    counter.counting = False
    count = max(counter.count, 1)
    return Rate(counter.count / (time.monotonic() - started),
                (time.process_time() - cpu) / count * 1e6)  # fmt: skip


def _drained(intake: Intake, counter: _Counting, per_record: int) -> threading.Thread:
    """A thread that takes every batch and counts its telemetry records."""

    def drain() -> None:
        while not intake.drained:
            batch = intake.take(0.1)
            if batch is not None:
                counter.add(sum(len(d.telemetry) for d in batch.records.values()) * per_record)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    return thread


async def _with_source(run: Callable[[Intake, asyncio.Event], Any], per_record: int) -> Rate:
    counter = _Counting()
    intake = Intake(20_000, 0.25, 4, max_acks=10_000)
    drainer = _drained(intake, counter, per_record)
    disconnect = asyncio.Event()
    task = asyncio.create_task(run(intake, disconnect))
    rate = await _measure(counter)
    intake.close()
    disconnect.set()
    await task
    drainer.join(10)
    return rate


async def _opcua_raw() -> Rate:
    counter = _Counting()

    class Handler:
        def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
            counter.add(1)

    client = Client(f"opc.tcp://127.0.0.1:{OPCUA_PORT}/bench/")
    async with client:
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=100, RequestedMaxKeepAliveCount=10,
            RequestedLifetimeCount=30, PublishingEnabled=True,
        )  # fmt: skip
        subscription = await client.create_subscription(params, Handler())
        await subscription.create_monitored_items(
            monitored_item(i + 1, _node(i // 100, i % 100), 1000) for i in range(ITEMS)
        )
        return await _measure(counter)


async def _modbus_raw() -> Rate:
    from pymodbus.client import AsyncModbusTcpClient

    counter = _Counting()
    stop = asyncio.Event()

    async def poll(unit: int) -> None:
        client = AsyncModbusTcpClient("127.0.0.1", port=MODBUS_PORT, timeout=1, retries=0)
        await client.connect()
        due = time.monotonic()
        while not stop.is_set():
            response = await client.read_holding_registers(0, count=2 * VALUES_PER_UNIT,
                                                           device_id=unit)  # fmt: skip
            counter.add(len(response.registers))
            due += POLL_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        client.close()

    tasks = [asyncio.create_task(poll(unit)) for unit in range(1, UNITS + 1)]
    rate = await _measure(counter)
    stop.set()
    await asyncio.gather(*tasks)
    return rate


def _phase(name: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {name}", file=sys.stderr, flush=True)


def _against(
    name: str,
    server: Callable[[Any, Any], None],
    raw: Callable[[], Coroutine[Any, Any, Rate]],
    source: OpcUaSource | ModbusSource,
    per_record: int,
) -> tuple[Rate, Rate]:
    """The source's rate and the raw client's, against `server` in a process of its own."""
    _phase(f"starting the {name} server")
    process, stop = _process(server)
    try:
        _phase(f"{name}: the raw client")
        baseline = asyncio.run(raw())
        _phase(f"{name}: the realtime source")
        return asyncio.run(_with_source(source.run, per_record)), baseline
    finally:
        stop.set()
        process.join(30)


def main() -> None:
    opcua_plant = _plant("opcua", ITEMS // 100, 100, _node)
    modbus_plant = _plant(
        "modbus",
        UNITS,
        VALUES_PER_UNIT,
        lambda m, t: f"unit={m + 1};hr={2 * t};float32;order=CDAB",
    )
    opcua_source = OpcUaSource(
        opcua_plant, OpcUaConfig(url=f"opc.tcp://127.0.0.1:{OPCUA_PORT}/bench/")
    )
    modbus_source = ModbusSource(
        modbus_plant, ModbusConfig(port=MODBUS_PORT, poll_interval_s=POLL_S)
    )
    opcua, opcua_raw = _against("OPC UA", _opcua_server, _opcua_raw, opcua_source, 1)
    modbus, modbus_raw = _against("Modbus", _modbus_server, _modbus_raw, modbus_source, 2)
    print(
        json.dumps(
            {
                "benchmark": "plc_polling",
                "unit": "opcua monitored items/s",
                "value": round(opcua.per_s, 1),
                "baseline": {
                    "name": "raw asyncua subscription",
                    "value": round(opcua_raw.per_s, 1),
                },
                "ratio": round(opcua.per_s / opcua_raw.per_s, 3) if opcua_raw.per_s else math.nan,
                "cpu_us_per_item": round(opcua.cpu_us, 1),
                "raw_cpu_us_per_item": round(opcua_raw.cpu_us, 1),
                "params": {
                    "opcua_items": ITEMS,
                    "opcua_change_interval_s": 1.0,
                    "modbus_units": UNITS,
                    "modbus_registers_per_unit": 2 * VALUES_PER_UNIT,
                    "modbus_poll_interval_s": POLL_S,
                    "seconds": SECONDS,
                },
                "modbus_registers_per_s": round(modbus.per_s, 1),
                "modbus_raw_registers_per_s": round(modbus_raw.per_s, 1),
                "modbus_ratio": round(modbus.per_s / modbus_raw.per_s, 3)
                if modbus_raw.per_s
                else math.nan,
                "modbus_cpu_us_per_register": round(modbus.cpu_us, 1),
                "modbus_raw_cpu_us_per_register": round(modbus_raw.cpu_us, 1),
                "modbus_skipped_polls": sum(modbus_source.skipped.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
