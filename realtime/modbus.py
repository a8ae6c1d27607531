"""Modbus TCP (pymodbus): each machine's register map polled at its own interval.

A machine's `modbus` tag map names its entries (`oee_pipelines.connectors.modbus`); the entries
of one unit and table are read together, in spans of at most 125 registers (2000 bits), and
every value becomes a reading of the shared signal logic stamped with the poll's instant.

What a plant network does to a poller:
- a unit that stops answering: each timeout is counted; after `offline_after` misses in a row
  the machine is `offline` from the first miss (and its telemetry stale) until it answers
  again, when its state and counters continue from their last readings, so no part is lost;
- an exception response (an illegal address): the entries of that span are read one by one,
  and each entry that fails is reported once (a dead letter naming the unit, table, address and
  exception) and left out of later polls, while the others keep flowing;
- a poll slower than its interval: the polls that fell due meanwhile are skipped and counted,
  never queued, so a slow unit is never asked twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from oee_pipelines.connectors.modbus import BIT_TABLES, RegisterAddress
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.signals import Binding, SignalConfig
from oee_pipelines.warehouse.records import DeadLetter
from realtime.batching import Intake
from realtime.logs import log
from realtime.source import Decoded

Clock = Callable[[], dt.datetime]
_TELEMETRY = "curated.telemetry"
_MAX_SPAN = {"hr": 125, "ir": 125, "co": 2000, "di": 2000}


class MachinePoll(BaseModel):
    """Where and how often one machine is polled; unset fields take the source's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65_535)
    poll_interval_s: float | None = Field(default=None, gt=0)


class ModbusConfig(SignalConfig):
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65_535)
    poll_interval_s: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=1.0, gt=0)
    """A request unanswered this long is a miss."""
    offline_after: int = Field(default=3, ge=1)
    """Misses in a row after which the machine is offline."""
    reconnect_max_s: float = Field(default=30.0, gt=0)
    machines: dict[str, MachinePoll] = {}
    """Per machine id: its own endpoint or interval, or `enabled: false`."""


@dataclass
class _Entry:
    tag: str
    register: RegisterAddress
    binding: Binding


@dataclass
class _Machine:
    id: str
    host: str
    port: int
    interval_s: float
    entries: list[_Entry]
    misses: int = 0
    first_miss: dt.datetime | None = None
    offline: bool = False
    failed: set[str] = field(default_factory=set)
    """Tags whose entry got an exception response: reported, no longer read."""


class _ExceptionResponse(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"exception code {code}")


class ModbusSource:
    """A `Connector` of the realtime service: one polling task per machine."""

    name = "modbus"

    def __init__(
        self,
        plant: PlantModel,
        config: ModbusConfig | None = None,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),  # clock-ok: stamps each poll
    ) -> None:
        self.config = config = config or ModbusConfig()
        self.signals = config.machine_signals()
        self.clock = clock
        self.machines: list[_Machine] = []
        for _, _, machine in plant.machines():
            tags = machine.tag_map.get("modbus")
            poll = config.machines.get(machine.id, MachinePoll())
            if not tags or not poll.enabled:
                continue
            entries = [
                _Entry(tag, RegisterAddress.parse(m.address), Binding.of(machine.id, tag, m))
                for tag, m in tags.items()
            ]
            self.machines.append(
                _Machine(
                    machine.id,
                    poll.host or config.host,
                    poll.port or config.port,
                    poll.poll_interval_s or config.poll_interval_s,
                    entries,
                )
            )
        self.polls: Counter[str] = Counter()
        """Completed polls per machine (answered or not)."""
        self.timeouts: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        """Polls that fell due while the previous one was still running."""

    async def run(self, intake: Intake, disconnect: asyncio.Event) -> None:
        await asyncio.gather(*(self._poll(m, intake, disconnect) for m in self.machines))

    async def _poll(self, machine: _Machine, intake: Intake, disconnect: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        client = AsyncModbusTcpClient(
            machine.host,
            port=machine.port,
            timeout=self.config.timeout_s,
            retries=0,
            reconnect_delay=0.1,
            reconnect_delay_max=self.config.reconnect_max_s,
        )
        due = loop.time()
        try:
            while not disconnect.is_set():
                decoded = await self._read_machine(client, machine)
                if decoded and not await asyncio.to_thread(intake.put, self.name, decoded):
                    return
                self.polls[machine.id] += 1
                due += machine.interval_s
                late = loop.time() - due
                if late > 0:
                    missed = int(late // machine.interval_s) + 1
                    self.skipped[machine.id] += missed
                    due += missed * machine.interval_s
                    log(logging.WARNING, "modbus.poll_skipped", machine=machine.id, polls=missed)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(disconnect.wait(), due - loop.time())
        finally:
            client.close()
            await asyncio.sleep(0)  # the transport closes its socket on the loop's next turn

    async def _read_machine(self, client: AsyncModbusTcpClient, machine: _Machine) -> Decoded:
        ts = self.clock()
        out = Decoded()
        try:
            if not client.connected and not await client.connect():
                raise ConnectionError(f"cannot connect to {machine.host}:{machine.port}")
            values = await self._read_entries(client, machine, out)
        except (ModbusException, ConnectionError, TimeoutError) as exc:
            self._miss(machine, ts, exc, out)
            return out
        if machine.offline:
            log(logging.INFO, "modbus.unit_back", machine=machine.id)
        machine.misses, machine.first_miss, machine.offline = 0, None, False
        for entry, value in values:
            quality = "bad" if value is None else "good"
            problem = self.signals.reading(entry.binding, ts, value, quality, out)
            if problem is not None:
                out.dead_letters.append(self._letter(machine, entry, problem, value))
        return out

    def _miss(self, machine: _Machine, ts: dt.datetime, exc: BaseException, out: Decoded) -> None:
        self.timeouts[machine.id] += 1
        machine.misses += 1
        machine.first_miss = machine.first_miss or ts
        if machine.misses == self.config.offline_after:
            machine.offline = True
            log(logging.WARNING, "modbus.unit_offline", machine=machine.id, error=str(exc))
            self.signals.offline(machine.first_miss, [e.binding for e in machine.entries], out)

    async def _read_entries(
        self, client: AsyncModbusTcpClient, machine: _Machine, out: Decoded
    ) -> list[tuple[_Entry, int | float | None]]:
        """Each readable entry's value; a span with an exception is read entry by entry."""
        values = []
        for span in _spans([e for e in machine.entries if e.tag not in machine.failed]):
            try:
                words = await _read(client, span)
            except _ExceptionResponse:
                for entry in span:
                    try:
                        words = await _read(client, [entry])
                    except _ExceptionResponse as exc:
                        machine.failed.add(entry.tag)
                        out.dead_letters.append(self._letter(machine, entry, str(exc), None))
                        log(logging.ERROR, "modbus.entry_failed", machine=machine.id,
                            tag=entry.tag, error=str(exc))  # fmt: skip
                        continue
                    values.append((entry, entry.register.decode(words)))
                continue
            start = span[0].register.address
            for entry in span:
                at = entry.register.address - start
                values.append((entry, entry.register.decode(words[at : at + entry.register.size])))
        return values

    def _letter(self, machine: _Machine, entry: _Entry, reason: str, value: object) -> DeadLetter:
        r = entry.register
        return DeadLetter(
            self.name,
            _TELEMETRY,
            f"{machine.id} {entry.tag} (unit {r.unit} {r.table} {r.address}): {reason}",
            {"value": value},
            {
                "endpoint": f"{machine.host}:{machine.port}",
                "machine_id": machine.id,
                "tag": entry.tag,
            },  # fmt: skip
        )


def _spans(entries: Sequence[_Entry]) -> list[list[_Entry]]:
    """Entries of one unit and table whose addresses fit in one request, in address order."""
    spans: list[list[_Entry]] = []
    ordered = sorted(entries, key=lambda e: (e.register.unit, e.register.table, e.register.address))
    for entry in ordered:
        r = entry.register
        if spans:
            first = spans[-1][0].register
            if (first.unit, first.table) == (r.unit, r.table) and (
                r.address + r.size - first.address <= _MAX_SPAN[r.table]
            ):
                spans[-1].append(entry)
                continue
        spans.append([entry])
    return spans


async def _read(client: AsyncModbusTcpClient, span: Sequence[_Entry]) -> list[int]:
    first, last = span[0].register, span[-1].register
    count = last.address + last.size - first.address
    read = {
        "hr": client.read_holding_registers,
        "ir": client.read_input_registers,
        "co": client.read_coils,
        "di": client.read_discrete_inputs,
    }[first.table]
    response = await read(first.address, count=count, device_id=first.unit)
    if response.isError():
        raise _ExceptionResponse(getattr(response, "exception_code", 0))
    if first.table in BIT_TABLES:
        return [int(bit) for bit in response.bits[:count]]
    return list(response.registers)
