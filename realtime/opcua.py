"""OPC UA (asyncua): one subscription per server, a monitored item per `opcua` tag map entry.

Each notification is a reading of the shared signal logic at its source timestamp (the server
timestamp when the source gives none, the receipt time when neither), with its StatusCode as
the quality: Good, Uncertain*, Bad* (a Bad value is kept, without a value). Notifications are
gathered for `flush_interval_s` and handed to the intake in source-timestamp order, since a
server groups a publish by monitored item rather than by time.

What a plant network does to a subscription:
- connection lost or server restarted, however asyncua notices it (the socket closes, its
  health probe fails, a stale subscription cannot be re-created, a status change with a bad
  status): the server's machines are `offline` from that instant, once, and the source connects
  again with exponential backoff (`reconnect_min_s` to `reconnect_max_s`), with a new session
  and subscription. asyncua's own reconnect is not used: it re-activates the old session, whose
  transferred subscription does not send the current values again, so a machine whose state
  did not change would stay `offline`. A new subscription sends every item's current value: a
  value whose source timestamp is not newer than the last one of its node is not a new value
  and is dropped (no duplicates), except a machine's state, which ends its `offline` spell at
  receipt;
- a subscription whose publishing stops: no publish response (data or keep-alive) within
  `keepalive_count` publishing intervals (x1.5) marks it stale, and asyncua re-creates it (the
  connection is still up: no `offline` spell);
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
    """The instant the connection was last lost."""
    unread: set[str] = field(default_factory=set)
    """The machines whose state has not been read since the loss: they are `offline`."""
    unwritten_loss: dt.datetime | None = None
    """A loss not yet written as `offline` states."""
    pending: list[tuple[dt.datetime, int, _Item, Value, str]] = field(default_factory=list)
    ready: Decoded = field(default_factory=Decoded)
    """Rows and dead letters waiting for the next flush, before the pending notifications."""


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
                lost = asyncio.Event()
                client = await self._client(server, lost)
                try:
                    await client.connect(auto_reconnect=False)
                except Exception as exc:  # asyncua raises OS, timeout and UA errors alike
                    self._connect_failed(server, exc)
                else:
                    self.errors.pop(server.url, None)
                    try:
                        await self._subscribe(client, server, lost)
                        log(logging.INFO, "opcua.subscribed", url=server.url,
                            items=len(server.items))  # fmt: skip
                        delay = self.config.reconnect_min_s
                        await _first_of(disconnect, lost)
                    except Exception as exc:  # the connection failed while subscribing
                        self.connection_lost(server, lost, repr(exc))
                    finally:
                        with contextlib.suppress(Exception):
                            await client.disconnect()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(disconnect.wait(), delay)
                delay = min(2 * delay, self.config.reconnect_max_s)
        finally:
            await flusher

    async def _client(self, server: _Server, lost: asyncio.Event) -> Client:
        config = self.config
        client = Client(server.url, timeout=config.request_timeout_s)

        async def on_loss(exc: Exception) -> None:
            self.connection_lost(server, lost, repr(exc))

        client.connection_lost_callback = on_loss
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

    def connection_lost(self, server: _Server, lost: asyncio.Event, cause: str) -> None:
        """The connection `lost` is gone: the server's machines are offline from now, unless
        they still are since an earlier loss. Every way asyncua reports a loss ends here, so
        the first one counts and the others are ignored."""
        if lost.is_set():
            return
        lost.set()
        log(logging.WARNING, "opcua.connection_lost", url=server.url, error=cause)
        if server.unread:
            return
        server.ready = self._drain(server)  # what came before the loss stays before it
        server.offline_since = server.unwritten_loss = self.clock()
        server.unread = {
            i.binding.machine_id for i in server.items if i.binding.signal is Signal.STATE
        }

    async def _subscribe(self, client: Client, server: _Server, lost: asyncio.Event) -> None:
        config = self.config
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=config.publishing_interval_ms,
            RequestedMaxKeepAliveCount=config.keepalive_count,
            RequestedLifetimeCount=config.keepalive_count * 3,
            PublishingEnabled=True,
        )
        by_node = {item.node_id: item for item in server.items}
        handler = _Handler(self, server, by_node, lost)
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
                if item.binding.signal is Signal.STATE:  # no reading will end its offline spell
                    server.unread.discard(item.binding.machine_id)
                server.ready.dead_letters.append(
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
        seen = item.last_ts is not None and ts <= item.last_ts
        if item.binding.signal is Signal.STATE and item.binding.machine_id in server.unread:
            server.unread.remove(item.binding.machine_id)
            if seen and server.offline_since is not None:
                ts = max(self.clock(), server.offline_since)  # unchanged while we were away
        elif seen:
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
        out, server.ready = server.ready, Decoded()
        if server.unwritten_loss is not None:
            self.signals.offline(server.unwritten_loss, [i.binding for i in server.items], out)
            server.unwritten_loss = None
        now = self.clock()
        for ts, _, item, value, quality in sorted(pending, key=lambda p: (p[0], p[1])):
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

    def __init__(
        self, source: OpcUaSource, server: _Server, items: dict[str, _Item], lost: asyncio.Event
    ) -> None:
        self._source = source
        self._server = server
        self._items = items
        self._lost = lost

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        item = self._items.get(node.nodeid.to_string())
        if item is not None:
            self._source.notified(self._server, item, value, data.monitored_item.Value)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        """A bad status (the server shut down, the subscription timed out) is a loss."""
        log(logging.WARNING, "opcua.status_change", status=str(status.Status))
        if not status.Status.is_good():
            self._source.connection_lost(self._server, self._lost, f"status change {status.Status}")


async def _first_of(*events: asyncio.Event) -> None:
    """Wait until one of `events` is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


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
