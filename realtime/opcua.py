"""OPC UA (asyncua): one subscription per server, a monitored item per `opcua` tag map entry.

Each notification is a reading of the shared signal logic at its source timestamp (the server
timestamp when the source gives none, the receipt time when neither), with its StatusCode as
the quality: Good, Uncertain*, Bad* (a Bad value is kept, without a value). Notifications are
gathered for `flush_interval_s` and handed to the intake in source-timestamp order, since a
server groups a publish by monitored item rather than by time.

What a plant network does to a subscription:
- connection lost or server restarted: asyncua reconnects with exponential backoff (up to
  `reconnect_max_s`) and re-creates the subscription; meanwhile the server's machines are
  `offline` from the loss. The server then sends every item's current value again: a value
  whose source timestamp is not newer than the last one of its node is not a new value and is
  dropped (no duplicates), except a machine's state, which ends its `offline` spell at receipt;
- a subscription whose publishing stops: no publish response (data or keep-alive) within
  `keepalive_count` publishing intervals (x1.5) marks it stale, and asyncua re-creates it;
- a node id the server does not know: reported per tag (a dead letter and an error log), while
  the other items keep flowing;
- the server rejects our certificate: an error naming the endpoint, and retries with backoff
  (until an operator trusts the certificate on the server).

Security as an option: Basic256Sha256 Sign&Encrypt with our certificate and key (and the
server's certificate), and a user name whose password comes from `OEE_OPCUA_PASSWORD`, never
from the configuration file.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Client, Node, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from pydantic import BaseModel, ConfigDict, Field

from oee_pipelines.errors import SourceError
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.signals import Binding, Signal, SignalConfig, Value
from oee_pipelines.warehouse.records import DeadLetter
from realtime.batching import Intake
from realtime.logs import log
from realtime.source import Decoded

Clock = Callable[[], dt.datetime]
_TELEMETRY = "curated.telemetry"
_REJECTED = (
    "Certificate",
    "SecurityChecksFailed",
    "SecurityPolicyRejected",
    "UserAccessDenied",
    "IdentityToken",
)


class OpcUaSecurity(BaseModel):
    """Basic256Sha256 Sign&Encrypt: our certificate and key, the server's certificate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate: Path
    private_key: Path
    server_certificate: Path | None = None
    application_uri: str = "urn:oee:realtime"
    """Must match the URI in our certificate's subjectAltName."""


class MachineEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    url: str | None = None


class OpcUaConfig(SignalConfig):
    url: str = "opc.tcp://127.0.0.1:4840/oee/"
    """The server of every machine whose `machines` entry names no other."""
    machines: dict[str, MachineEndpoint] = {}
    publishing_interval_ms: float = Field(default=100.0, gt=0)
    keepalive_count: int = Field(default=10, ge=1)
    queue_size: int = Field(default=1000, ge=1)
    """Values the server keeps per item between two publish responses."""
    flush_interval_s: float = Field(default=0.05, gt=0)
    request_timeout_s: float = Field(default=4.0, gt=0)
    reconnect_min_s: float = Field(default=1.0, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    security: OpcUaSecurity | None = None
    username: str | None = None
    """The password comes from OEE_OPCUA_PASSWORD."""


@dataclass
class _Item:
    node_id: str
    binding: Binding
    last_ts: dt.datetime | None = None


@dataclass
class _Server:
    url: str
    items: list[_Item]
    offline_since: dt.datetime | None = None
    """Set when the connection is lost; cleared by the first state reading after it."""
    went_offline: bool = False
    """The loss is not yet written as `offline` states."""
    pending: list[tuple[dt.datetime, int, _Item, Value, str]] = field(default_factory=list)
    letters: Decoded = field(default_factory=Decoded)


class OpcUaSource:
    """A `Connector` of the realtime service: one client and subscription per server."""

    name = "opcua"

    def __init__(
        self,
        plant: PlantModel,
        config: OpcUaConfig | None = None,
        password: str | None = None,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),  # clock-ok: receipt and loss times
    ) -> None:
        self.config = config = config or OpcUaConfig()
        self.signals = config.machine_signals()
        self._plausibility = config.plausibility()
        self._password = password
        self.clock = clock
        servers: dict[str, _Server] = {}
        for _, _, machine in plant.machines():
            tags = machine.tag_map.get("opcua")
            endpoint = config.machines.get(machine.id, MachineEndpoint())
            if not tags or not endpoint.enabled:
                continue
            url = endpoint.url or config.url
            server = servers.setdefault(url, _Server(url, []))
            server.items += [
                _Item(m.address, Binding.of(machine.id, tag, m)) for tag, m in tags.items()
            ]
        self.servers = list(servers.values())
        self.errors: dict[str, str] = {}
        """The last connection error of each server, by URL (for operators and tests)."""
        self.notifications = 0
        self.duplicates = 0
        """Notifications dropped as values already received (after a re-subscription)."""

    async def run(self, intake: Intake, disconnect: asyncio.Event) -> None:
        await asyncio.gather(*(self._serve(s, intake, disconnect) for s in self.servers))

    async def _serve(self, server: _Server, intake: Intake, disconnect: asyncio.Event) -> None:
        flusher = asyncio.create_task(self._flush_until(server, intake, disconnect))
        delay = self.config.reconnect_min_s
        try:
            while not disconnect.is_set():
                client = await self._client(server)
                try:
                    await client.connect(
                        auto_reconnect=True, reconnect_max_delay=self.config.reconnect_max_s
                    )
                except Exception as exc:  # asyncua raises OS, timeout and UA errors alike
                    self._connect_failed(server, exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(disconnect.wait(), delay)
                    delay = min(2 * delay, self.config.reconnect_max_s)
                    continue
                delay = self.config.reconnect_min_s
                self.errors.pop(server.url, None)
                try:
                    await self._subscribe(client, server)
                    log(logging.INFO, "opcua.subscribed", url=server.url, items=len(server.items))
                    await disconnect.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await client.disconnect()
        finally:
            await flusher

    async def _client(self, server: _Server) -> Client:
        config = self.config
        client = Client(server.url, timeout=config.request_timeout_s)
        client.connection_lost_callback = lambda exc: self._lost(server, exc)
        if config.security is not None:
            security = config.security
            client.application_uri = security.application_uri
            await client.set_security(
                SecurityPolicyBasic256Sha256,
                str(security.certificate),
                str(security.private_key),
                server_certificate=(
                    str(security.server_certificate) if security.server_certificate else None
                ),
                mode=ua.MessageSecurityMode.SignAndEncrypt,
            )
        if config.username is not None:
            client.set_user(config.username)
            client.set_password(self._password or "")
        return client

    def _connect_failed(self, server: _Server, exc: BaseException) -> None:
        cause = f"{type(exc).__name__}: {exc}"
        if any(word in cause for word in _REJECTED):
            cause = f"the server rejected our certificate or credentials ({cause})"
        error = SourceError(self.name, server.url, cause)
        self.errors[server.url] = str(error)
        log(logging.ERROR, "opcua.connect_failed", url=server.url, error=cause)

    async def _lost(self, server: _Server, exc: Exception) -> None:
        """The connection is gone: the server's machines are offline from now."""
        log(logging.WARNING, "opcua.connection_lost", url=server.url, error=repr(exc))
        if server.offline_since is None:
            server.offline_since = self.clock()
            server.went_offline = True

    async def _subscribe(self, client: Client, server: _Server) -> None:
        config = self.config
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=config.publishing_interval_ms,
            RequestedMaxKeepAliveCount=config.keepalive_count,
            RequestedLifetimeCount=config.keepalive_count * 3,
            PublishingEnabled=True,
        )
        by_node = {item.node_id: item for item in server.items}
        handler = _Handler(self, server, by_node)
        subscription = await client.create_subscription(params, handler)
        results = await subscription.create_monitored_items(
            monitored_item(handle, item.node_id, config.queue_size)
            for handle, item in enumerate(server.items, start=1)
        )
        for item, result in zip(server.items, results, strict=True):
            if isinstance(result, ua.StatusCode):
                reason = (
                    f"{item.node_id} of {item.binding.machine_id} {item.binding.tag}: {result.name}"
                )
                log(logging.ERROR, "opcua.item_failed", url=server.url, error=reason)
                server.letters.dead_letters.append(
                    DeadLetter(
                        self.name,
                        _TELEMETRY,
                        reason,
                        {"node_id": item.node_id},
                        {
                            "endpoint": server.url,
                            "machine_id": item.binding.machine_id,
                            "tag": item.binding.tag,
                        },  # fmt: skip
                    )
                )

    def notified(self, server: _Server, item: _Item, value: Any, data: ua.DataValue) -> None:
        """One notification (called by the subscription handler, in the event loop)."""
        self.notifications += 1
        ts = data.SourceTimestamp or data.ServerTimestamp or self.clock()
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        if item.last_ts is not None and ts <= item.last_ts:
            if server.offline_since is not None and item.binding.signal is Signal.STATE:
                ts = max(self.clock(), server.offline_since)  # unchanged while we were away
            else:
                self.duplicates += 1
                return
        item.last_ts = max(ts, item.last_ts or ts)
        code = data.StatusCode.value if data.StatusCode is not None else 0
        quality = ("good", "uncertain", "bad", "bad")[code >> 30]
        reading = _value(value)
        if reading is None and quality == "good":
            quality = "bad"
        server.pending.append((ts, len(server.pending), item, reading, quality))

    async def _flush_until(self, server: _Server, intake: Intake, stop: asyncio.Event) -> None:
        while True:
            stopping = stop.is_set()
            decoded = self._drain(server)
            if decoded and not await asyncio.to_thread(intake.put, self.name, decoded):
                return
            if stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.flush_interval_s)

    def _drain(self, server: _Server) -> Decoded:
        """The pending notifications as rows, in source-timestamp order."""
        pending, server.pending = server.pending, []
        out, server.letters = server.letters, Decoded()
        if server.went_offline and server.offline_since is not None:
            self.signals.offline(server.offline_since, [i.binding for i in server.items], out)
            server.went_offline = False
        now = self.clock()
        for ts, _, item, value, quality in sorted(pending, key=lambda p: (p[0], p[1])):
            if server.offline_since is not None and item.binding.signal is Signal.STATE:
                server.offline_since = None
            problem = self._plausibility.problem(ts, now) or self.signals.reading(
                item.binding, ts, value, quality, out
            )
            if problem is not None:
                out.dead_letters.append(
                    DeadLetter(
                        self.name,
                        _TELEMETRY,
                        problem,
                        {"value": value},
                        {"endpoint": server.url, "node_id": item.node_id},
                    )  # fmt: skip
                )
        return out


def monitored_item(handle: int, node_id: str, queue_size: int) -> ua.MonitoredItemCreateRequest:
    """A monitored item reporting every value with a new source timestamp, even an unchanged
    one (a reading is a row), keeping up to `queue_size` values between publish responses."""
    request = ua.MonitoredItemCreateRequest()
    request.ItemToMonitor = ua.ReadValueId(
        NodeId=ua.NodeId.from_string(node_id), AttributeId=ua.AttributeIds.Value
    )
    request.MonitoringMode = ua.MonitoringMode.Reporting
    request.RequestedParameters = ua.MonitoringParameters(
        ClientHandle=handle,
        SamplingInterval=0,
        QueueSize=queue_size,
        DiscardOldest=True,
        Filter=ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp),
    )
    return request


class _Handler:
    """asyncua's subscription handler: hands each notification to the source."""

    def __init__(self, source: OpcUaSource, server: _Server, items: dict[str, _Item]) -> None:
        self._source = source
        self._server = server
        self._items = items

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        item = self._items.get(node.nodeid.to_string())
        if item is not None:
            self._source.notified(self._server, item, value, data.monitored_item.Value)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        log(logging.WARNING, "opcua.status_change", status=str(status.Status))


def _value(value: Any) -> Value:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)
