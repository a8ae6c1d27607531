"""The simulated plant as Modbus TCP units (pymodbus): one unit per machine with a `modbus` tag
map, its registers computed at each request from the ground truth at `clock()`.

Each tag map address (`unit=1;hr=10;float32;order=CDAB`) is encoded by the same codec the
realtime source decodes with; a telemetry value the plant lost is a NaN float (an integer
has no way to say so: it reads 0). A read beyond a unit's last mapped address gets an exception
response (illegal data address). For the tests, a unit can be made `silent` (it stops
answering: the request times out) or `slow` (it answers after a delay); `requests` and
`most_in_flight` count what each unit was asked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer

from oee_pipelines.connectors.modbus import RegisterAddress

from .._plant import SimulatedPlant
from ._plc import PlcImage

Clock = Callable[[], dt.datetime]
_TABLES = {1: "co", 2: "di", 3: "hr", 4: "ir"}


class ModbusPlant(ModbusServerContext):
    """The datastore of every simulated unit (pymodbus asks it for each request's values)."""

    def __init__(self, plant: SimulatedPlant, clock: Clock, units: int | None = None) -> None:
        # not super().__init__: values are computed per request, there is no stored block
        self.old_simulator = True
        self.simdevices = []
        self.clock = clock
        self.image = PlcImage(plant, "modbus")
        self.units: dict[int, tuple[str, dict[str, RegisterAddress]]] = {}
        for machine_id, tags in self.image.tag_maps.items():
            entries = {tag: RegisterAddress.parse(m.address) for tag, m in tags.items()}
            for unit in {entry.unit for entry in entries.values()}:
                self.units[unit] = (
                    machine_id,
                    {t: e for t, e in entries.items() if e.unit == unit},
                )
        self.silent: set[int] = set()
        self.slow: dict[int, float] = {}
        self.requests: Counter[int] = Counter()
        self.most_in_flight: Counter[int] = Counter()
        self._in_flight: Counter[int] = Counter()

    def device_ids(self) -> list[int]:
        return list(self.units)

    async def async_getValues(  # noqa: N802 (pymodbus's name)
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        if device_id not in self.units or device_id in self.silent:
            raise NoSuchIdException(f"unit {device_id} does not answer")
        self.requests[device_id] += 1
        self._in_flight[device_id] += 1
        self.most_in_flight[device_id] = max(
            self.most_in_flight[device_id], self._in_flight[device_id]
        )
        try:
            if device_id in self.slow:
                await asyncio.sleep(self.slow[device_id])
            words = self.words(device_id, _TABLES.get(func_code, ""), self.clock())
        finally:
            self._in_flight[device_id] -= 1
        wanted = range(address, address + count)
        if any(a not in words for a in wanted):
            return ExcCodes.ILLEGAL_ADDRESS
        return [words[a] for a in wanted]

    async def async_setValues(  # noqa: N802
        self, device_id: int, func_code: int, address: int, values: object
    ) -> ExcCodes:
        return ExcCodes.ILLEGAL_FUNCTION  # the simulated PLCs are read-only

    def words(self, unit: int, table: str, at: dt.datetime) -> dict[int, int]:
        """The unit's words (or bits) of one table at instant `at`, by address: its memory runs
        from 0 to the last address of its entries, unmapped words are 0."""
        machine_id, entries = self.units[unit]
        mapped = {tag: entry for tag, entry in entries.items() if entry.table == table}
        top = max((entry.address + entry.size for entry in mapped.values()), default=0)
        words = dict.fromkeys(range(top), 0)
        readings = self.image.values(machine_id, at)
        for tag, entry in mapped.items():
            value = readings[tag][0]
            if not isinstance(value, int | float):  # lost: a float says NaN, an integer 0
                value = float("nan") if entry.type == "float32" else entry.offset
            for offset, word in enumerate(entry.encode(value)):
                words[entry.address + offset] = word
        return words


@contextmanager
def serving_modbus(
    plant: SimulatedPlant, clock: Clock, host: str = "127.0.0.1", port: int = 0
) -> Iterator[tuple[ModbusPlant, int]]:
    """The units on a TCP port of their own (0: a free one), served from a thread until the
    block ends; yields the datastore and the bound port."""
    context = ModbusPlant(plant, clock)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[ModbusTcpServer] = []
    bound: list[int] = []

    async def serve() -> None:
        server = ModbusTcpServer(context, address=(host, port), ignore_missing_devices=True)
        servers.append(server)
        if await server.listen():
            bound.append(server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        started.set()
        await server.serving

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not started.wait(10) or not bound:
        raise RuntimeError(f"the simulated Modbus server did not listen on {host}:{port}")
    try:
        yield context, bound[0]
    finally:
        asyncio.run_coroutine_threadsafe(servers[0].shutdown(), loop).result(10)
        thread.join(10)
        loop.close()
