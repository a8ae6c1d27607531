"""The simulated plant as an OPC UA server (asyncua): one variable per `opcua` tag map entry.

The server starts with every tag's value at `start` and `advance(to)` writes every change up to
`to`, in time order, each with its source timestamp (the instant it happened in the plant) and
its StatusCode: a state code (Int32) at each state change, the counters (UInt32, wrapped at
their rollover) at each part and reset, telemetry (Double) every second with the quality a
historian records of it (questionable or substituted: Uncertain; bad or lost: Bad, no value).

Security as an option: Basic256Sha256 Sign&Encrypt only, the server's certificate and key, a
directory of trusted client certificates (any other is rejected), and user names with passwords.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.user_managers import UserManager

from oee_pipelines.signals import SIGNALS

from .._plant import SimulatedPlant
from ._plc import QUALITIES, PlcImage
from .mqtt import Values, plc_changes

NAMESPACE = "urn:oee:simulated-plant"
"""Registered first, so its index is 2: the tag maps' `ns=2;s=...` addresses."""
_TYPES = {
    "state": ua.VariantType.Int32,
    "good_count": ua.VariantType.UInt32,
    "reject_count": ua.VariantType.UInt32,
}
_STATUS = {
    "good": ua.StatusCodes.Good,
    "uncertain": ua.StatusCodes.Uncertain,
    "bad": ua.StatusCodes.Bad,
}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class ServerSecurity:
    certificate: Path
    private_key: Path
    trusted_clients: Path
    """A directory of the client certificates (DER or PEM) the server accepts."""
    users: Mapping[str, str] | None = None
    """User name -> password; None: anonymous sessions are allowed."""


class _Users(UserManager):
    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = dict(users)

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is not None and self._users.get(username) == password:
            return User(role=UserRole.User)
        return None


Change = tuple[dt.datetime, ua.NodeId, Any, ua.VariantType, str]
"""(source timestamp, node, value, type, quality) of one write."""


class OpcUaPlant:
    """The server and the plant instant it shows; run by `serving_opcua` in a thread."""

    def __init__(self, plant: SimulatedPlant, start: dt.datetime) -> None:
        self.image = PlcImage(plant, "opcua")
        self.now = start
        self.written = 0
        """Values written since start, initial ones included."""
        self._shown: dict[str, Values] = {machine_id: {} for machine_id in self.image.tag_maps}
        self._nodes = {
            (machine_id, tag): ua.NodeId.from_string(mapping.address)
            for machine_id, tags in self.image.tag_maps.items()
            for tag, mapping in tags.items()
        }
        self.server: Server | None = None

    async def start(self, endpoint: str, security: ServerSecurity | None) -> None:
        server = Server(
            user_manager=_Users(security.users) if security and security.users else None
        )
        await server.init()
        server.set_endpoint(endpoint)
        server.set_server_name("OEE simulated plant")
        if security is not None:
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            await server.load_certificate(str(security.certificate))
            await server.load_private_key(str(security.private_key))
            trust = TrustStore([security.trusted_clients], [])
            await trust.load()
            options = (
                CertificateValidatorOptions.EXT_VALIDATION | CertificateValidatorOptions.TRUSTED
            )
            server.set_certificate_validator(
                CertificateValidator(options | CertificateValidatorOptions.PEER_CLIENT, trust)
            )
        index = await server.register_namespace(NAMESPACE)
        assert index == 2, f"the simulated plant's namespace has index {index}, not 2"
        objects = server.nodes.objects
        for (_, tag), node in self._nodes.items():
            kind = _TYPES.get(tag, ua.VariantType.Double)
            name = ua.QualifiedName(str(node.Identifier), 2)
            await objects.add_variable(node, name, ua.Variant(0, kind))
        self.server = server
        await server.start()
        await self._write(self.changes(self.now, self.now + _US))

    async def stop(self) -> None:
        """Stop serving, and end every task the server leaves behind (the sessions it keeps for
        clients that may come back, their subscriptions)."""
        if self.server is not None:
            # asyncua closes the open connections before the listening socket, and the stop
            # waits for every connection: a client reconnecting in between would hold it open
            self.server.iserver.max_connections = 0
            await self.server.stop()
            self.server = None
        leftovers = asyncio.all_tasks() - {asyncio.current_task()}
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    async def stall(self) -> None:
        """Stop publishing on every subscription (no data, no keep-alive): a stalled server."""
        assert self.server is not None, "the server is not running"
        for subscription in list(self.server.iserver.subscription_service.subscriptions.values()):
            await subscription.stop()

    async def advance(self, to: dt.datetime) -> int:
        """Write every change in (now, to]; returns how many values were written."""
        changes = self.changes(self.now + _US, to + _US)
        self.now = to
        return await self._write(changes)

    def changes(self, start: dt.datetime, end: dt.datetime) -> list[Change]:
        """Every change of every tag in [start, end), in time order."""
        changes: list[Change] = []
        for machine_id, tags in self.image.tag_maps.items():
            for ts, values in plc_changes(
                self.image.plant, machine_id, start, end, self._shown[machine_id]
            ):
                for tag, value in values.items():
                    if tag in tags:
                        rollover = tags[tag].rollover
                        if isinstance(value, int) and rollover:
                            value %= rollover
                        changes.append(
                            (ts, self._nodes[machine_id, tag], value, _TYPES[tag], "good")
                        )
            for tag in tags:
                if tag in SIGNALS:
                    continue
                name = f"{machine_id}:{tag}"
                first, last = (start - _EPOCH) // _US, (end - _EPOCH) // _US - 1
                if first == last:  # the initial values: the one in effect
                    recorded = self.image.history.before(name, first + 1)
                    found = [recorded] if recorded else []
                else:
                    found = self.image.history.values(name, first, last)
                node = self._nodes[machine_id, tag]
                for at, number, flag in found:
                    at_ts = max(start, _EPOCH + at * _US)
                    changes.append((at_ts, node, number, ua.VariantType.Double, QUALITIES[flag]))
        changes.sort(key=lambda change: change[0])
        return changes

    async def _write(self, changes: list[Change]) -> int:
        assert self.server is not None, "the server is not running"
        for ts, node, value, kind, quality in changes:
            variant = ua.Variant() if value is None else ua.Variant(value, kind)
            await self.server.write_attribute_value(
                node,
                ua.DataValue(
                    variant,
                    ua.StatusCode(_STATUS[quality]),  # type: ignore[arg-type]
                    SourceTimestamp=ts,  # type: ignore[arg-type]
                    ServerTimestamp=ts,  # type: ignore[arg-type]
                ),
            )
        self.written += len(changes)
        return len(changes)


class RunningOpcUa:
    """The server of `serving_opcua`, driven from the caller's thread."""

    def __init__(self, plant: OpcUaPlant, loop: asyncio.AbstractEventLoop, endpoint: str) -> None:
        self.plant = plant
        self.endpoint = endpoint
        self._loop = loop

    def advance(self, to: dt.datetime) -> int:
        return self._call(self.plant.advance(to))

    def stall(self) -> None:
        self._call(self.plant.stall())

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(120)


@contextmanager
def serving_opcua(
    plant: SimulatedPlant,
    start: dt.datetime,
    port: int,
    security: ServerSecurity | None = None,
    host: str = "127.0.0.1",
) -> Iterator[RunningOpcUa]:
    """The server on `opc.tcp://host:port/oee/`, showing the plant at `start`, served from a
    thread of its own until the block ends."""
    endpoint = f"opc.tcp://{host}:{port}/oee/"
    simulated = OpcUaPlant(plant, start)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="opcua-server", daemon=True)
    thread.start()
    running = RunningOpcUa(simulated, loop, endpoint)
    try:
        running._call(simulated.start(endpoint, security))
        yield running
    finally:
        running._call(simulated.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def follow_wall_clock(running: RunningOpcUa, stop: threading.Event, poll_s: float = 1.0) -> None:
    """Advance the server to the wall clock every `poll_s` until `stop` (what `oee simulate`
    runs)."""
    while not stop.wait(poll_s):
        running.advance(dt.datetime.now(dt.UTC))  # clock-ok: the live plant follows the wall clock
