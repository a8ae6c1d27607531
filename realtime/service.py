"""`oee realtime run`: the long-running ingest service, one asyncio process without Dagster.

    connectors (one per source)  ──put──▶  Intake (batches)  ──take──▶  writer  ──▶ warehouse
    MQTT: paho network thread            bounded: put blocks         one thread       or spool
    polled: asyncio tasks (issue 8)      when the writer is behind   in order         (fsync'd)
                                                                        │
                                 acknowledgements, once durable  ◀──────┘

A source's factory returns either an `MqttSource`, which the service runs on an MQTT connection
of its own, or a `Connector`, which runs itself (a poller: OPC UA, Modbus, HTTP) and hands its
records to the same intake. SIGTERM or SIGINT stops intake, writes what was received (to the
warehouse, or to the spool when it is away), acknowledges it, disconnects and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import importlib
import logging
import signal
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol, runtime_checkable

from psycopg_pool import ConnectionPool
from pydantic import ValidationError

from oee_pipelines.errors import ConfigError
from oee_pipelines.settings import PROJECT_DIR, Settings
from oee_pipelines.warehouse.urls import libpq_url
from realtime.batching import Intake
from realtime.config import SOURCE_FACTORIES, RealtimeConfig, load_config
from realtime.logs import configure_logging, log, masked
from realtime.metrics import Metrics, serving
from realtime.mqtt import Broker, Clock, MqttConnector
from realtime.resume import resume
from realtime.sink import OUTAGE, Sink
from realtime.source import Decoded, MqttSource, SignalSource
from realtime.spool import Spool

DEFAULT_CONFIG = PROJECT_DIR / "config" / "realtime.yaml"

_POOL_OPTIONS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
"""A cut network fails a write within about 30 s instead of hanging it; the spool takes over."""


@runtime_checkable
class Connector(Protocol):
    """A source that runs itself (a poller), handing records to the intake.

    It calls `intake.put(name, decoded, ack)` (from a thread, or `asyncio.to_thread` in the
    loop), where `ack` runs once the records are durable, and returns when `disconnect` is set;
    by then the intake is closed and refuses further records.
    """

    name: str

    async def run(self, intake: Intake, disconnect: asyncio.Event) -> None: ...


def run(config_path: Path | None, settings: Settings) -> int:
    """The `oee realtime run` command: serve until SIGTERM/SIGINT, then flush and return 0."""
    configure_logging()
    collect_garbage_rarely()
    config = load_config(config_path or DEFAULT_CONFIG)
    with ExitStack() as stack:
        database_url = settings.database_url
        mqtt_url = config.mqtt.url or settings.mqtt_url
        if not database_url or not mqtt_url:
            from oee_pipelines.services import running_services

            services = stack.enter_context(running_services(settings))
            database_url = database_url or services.database_url
            mqtt_url = mqtt_url or services.mqtt_url
        service = Service(config, settings, database_url, mqtt_url)
        return asyncio.run(service.serve_until_signalled())


def collect_garbage_rarely() -> None:
    """Tune the process for a stream of short-lived rows: what start-up loaded (modules,
    models) leaves the collector's view, and collections run 70 times less often; a quarter of
    the decoding time went into collections that found nothing to free."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class Service:
    """The realtime service: connectors, intake, writer, spool and metrics."""

    def __init__(
        self,
        config: RealtimeConfig,
        settings: Settings,
        database_url: str,
        mqtt_url: str,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),  # clock-ok: stamps arrivals
    ) -> None:
        self.config = config
        self.metrics = Metrics()
        self.metrics_port: int | None = None
        self._database_url = database_url
        self._broker = Broker.from_url(mqtt_url)
        self._spool_dir = config.spool.directory or (
            settings.home / "realtime-spool" / config.mqtt.client_id
        )
        sources = build_sources(config, settings)
        self._resumed = [s for s in sources if isinstance(s, SignalSource)]
        """Sources whose trackers continue from the warehouse before the first message."""
        self._connectors = [self._connector(s, clock) for s in sources]
        for connector in self._connectors:
            self.metrics.set_connected(connector.name, False)
        self.stopping = asyncio.Event()

    async def serve_until_signalled(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        return await self.serve()

    async def serve(self) -> int:
        """Run until `stopping` is set (or a connector fails), then flush; 0 when all is well."""
        config = self.config
        with ExitStack() as stack:
            if config.metrics.port is not None:
                self.metrics_port = stack.enter_context(
                    serving(self.metrics, config.metrics.host, config.metrics.port)
                )
            pool = stack.enter_context(
                ConnectionPool(
                    libpq_url(self._database_url),
                    min_size=0,
                    max_size=2,
                    timeout=5,
                    kwargs=_POOL_OPTIONS,
                    name="realtime",
                )
            )
            spool = stack.enter_context(Spool(self._spool_dir, config.spool.max_bytes))
            sink = Sink(pool, spool, self.metrics, config.spool)
            intake = Intake(
                config.batch.max_values,
                config.batch.max_latency_s,
                config.batch.max_pending,
                max_acks=max(1, config.mqtt.receive_maximum // 2),
            )
            log(
                logging.INFO,
                "service.started",
                sources=",".join(c.name for c in self._connectors),
                broker=self._broker.url,
                warehouse=masked(self._database_url),
                spool=self._spool_dir,
                spooled_batches=len(spool),
                metrics_port=self.metrics_port,
            )
            await self._resume(pool, sink)
            return await self._serve(intake, sink)

    async def _resume(self, pool: ConnectionPool, sink: Sink) -> None:
        """Continue each source's state and counter trackers from the warehouse (after a restart,
        neither losing nor doubling parts); while it is away, wait: a tracker that started from
        nothing would lose the parts counted while the service was down."""
        for source in self._resumed:
            while not self.stopping.is_set():
                try:
                    decoded = await asyncio.to_thread(_resume_source, pool, source)
                except OUTAGE as exc:
                    log(logging.WARNING, "resume.waiting", source=source.name, error=exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), self.config.spool.retry_max_s)
                    continue
                if decoded.counts:
                    await asyncio.to_thread(sink.store, {source.name: decoded})
                log(logging.INFO, "service.resumed", source=source.name, counts=len(decoded.counts))
                break

    async def _serve(self, intake: Intake, sink: Sink) -> int:
        # MQTT connections end after the intake is closed and drained (an unacknowledged
        # message stays with the broker); pollers stop first and hand over what they hold
        # while the intake still takes it.
        disconnect = asyncio.Event()
        stop_polling = asyncio.Event()
        mqtt = [asyncio.create_task(c.run(intake, disconnect)) for c in self._mqtt_connectors()]
        pollers = [
            asyncio.create_task(self._poll(c, intake, stop_polling)) for c in self._pollers()
        ]
        connectors = [*mqtt, *pollers]
        pause_s = self.config.spool.retry_min_s
        writer = asyncio.create_task(_write(intake, sink, pause_s))
        replayer = asyncio.create_task(_replay(sink, disconnect, pause_s))
        stopping = asyncio.create_task(self.stopping.wait())
        workers = {writer, replayer, *connectors}
        done, _ = await asyncio.wait({stopping, *workers}, return_when=asyncio.FIRST_COMPLETED)
        failed = [task for task in workers if task in done]
        log(logging.INFO, "service.stopping", reason="a task failed" if failed else "signal")
        stop_polling.set()
        await asyncio.gather(*pollers, return_exceptions=True)
        intake.close()
        if writer not in done:
            await writer
        disconnect.set()
        await asyncio.gather(replayer, *connectors, return_exceptions=True)
        stopping.cancel()
        for task in failed:
            log(logging.ERROR, "service.task_failed", error=repr(task.exception()))
        log(logging.INFO, "service.stopped", spooled_batches=sink.spooled)
        return 1 if failed else 0

    def _mqtt_connectors(self) -> list[Connector]:
        return [c for c in self._connectors if isinstance(c, MqttConnector)]

    def _pollers(self) -> list[Connector]:
        return [c for c in self._connectors if not isinstance(c, MqttConnector)]

    async def _poll(self, poller: Connector, intake: Intake, stop: asyncio.Event) -> None:
        """Run a poller, reported connected while it runs: a PLC that does not answer is not
        the service's fault, and shows as its machines' `offline` state instead."""
        self.metrics.set_connected(poller.name, True)
        try:
            await poller.run(intake, stop)
        finally:
            self.metrics.set_connected(poller.name, False)

    def _connector(self, source: MqttSource | Connector, clock: Clock) -> Connector:
        if isinstance(source, Connector):
            return source
        return MqttConnector(
            source, self._broker, self.config.mqtt, self.config.limits, self.metrics, clock
        )


def _resume_source(pool: ConnectionPool, source: SignalSource) -> Decoded:
    with pool.connection() as conn:
        return resume(conn, source.name, source.signals, source.bindings())


async def _write(intake: Intake, sink: Sink, pause_s: float) -> None:
    """Take batches in order, make each durable, then acknowledge it."""
    while not intake.drained:
        batch = await asyncio.to_thread(intake.take, pause_s)
        if batch is None:
            continue
        while not await asyncio.to_thread(sink.store, batch.records):
            if intake.drained:  # stopping with the spool full: the broker keeps the messages
                log(logging.ERROR, "service.unflushed", records=batch.size)
                return
            await asyncio.sleep(pause_s)
        batch.acknowledge()


async def _replay(sink: Sink, stop: asyncio.Event, pause_s: float) -> None:
    """Drain the spool into the warehouse, oldest first, whenever it is reachable."""
    while not stop.is_set():
        if sink.spooled and not sink.retry_in_s and await asyncio.to_thread(sink.replay):
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(pause_s, sink.retry_in_s))


def build_sources(config: RealtimeConfig, settings: Settings) -> Sequence[MqttSource | Connector]:
    """Each enabled source from its factory, `module:callable(options, settings)`."""
    sources = []
    for name, section in config.sources.items():
        if not section.enabled:
            continue
        reference = section.factory or SOURCE_FACTORIES.get(name)
        if reference is None:
            raise ConfigError(
                f"sources.{name}: unknown source; name its factory as `factory: module:callable`"
            )
        module, _, attribute = reference.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"sources.{name}: cannot load factory {reference}: {exc}") from exc
        try:
            sources.append(factory(section.options, settings))
        except ValidationError as exc:
            raise ConfigError(f"sources.{name}: {exc}") from exc
    if not sources:
        raise ConfigError("no source is enabled in the realtime configuration")
    return sources
