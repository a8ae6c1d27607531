"""The seam between a realtime source (one protocol) and the service that runs it.

A source turns what arrived (an MQTT message, a poll result) into warehouse records and keeps
whatever it cannot turn into records as dead letters: decoding never raises on bad input. The
service owns everything around it: connections, batching, durable writes, acknowledgement,
spooling and metrics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from oee_pipelines.signals import Binding, MachineSignals
from oee_pipelines.warehouse.records import (
    DeadLetter,
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
    TelemetryRow,
)


@dataclass
class Decoded:
    """What one message or poll became."""

    telemetry: list[TelemetryRecord | TelemetryRow] = field(default_factory=list)
    """Records, or plain tuples of their fields (what the signals and busy sources build)."""
    states: list[MachineStateRecord] = field(default_factory=list)
    counts: list[ProductionCountRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def extend(self, other: Decoded) -> None:
        self.telemetry.extend(other.telemetry)
        self.states.extend(other.states)
        self.counts.extend(other.counts)
        self.dead_letters.extend(other.dead_letters)

    def __len__(self) -> int:
        return len(self.telemetry) + len(self.states) + len(self.counts) + len(self.dead_letters)


@dataclass(frozen=True)
class Outgoing:
    """A message a source asks the service to publish (a Sparkplug rebirth request, a STATE)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


class MqttSource(Protocol):
    """A protocol spoken over MQTT (Sparkplug B, plain JSON).

    A source may pin its MQTT version with a class attribute `mqtt_protocol` (5 or 311);
    without one it connects with the configured `mqtt.protocol`.
    """

    name: str
    """The `source` written with every row, e.g. "sparkplug" or "mqtt_json"."""

    def subscriptions(self) -> Sequence[str]:
        """Topic filters to subscribe to (the service may prefix `$share/<group>/`)."""
        ...

    def will(self) -> Outgoing | None:
        """The Last Will to register before connecting, if the protocol wants one."""
        ...

    def on_connect(self) -> Sequence[Outgoing]:
        """Messages to publish after every (re)connection, before the subscriptions."""
        ...

    def decode(
        self, topic: str, payload: bytes, received_at: dt.datetime
    ) -> tuple[Decoded, Sequence[Outgoing]]:
        """Records and dead letters from one message, and messages to publish in answer."""
        ...


@runtime_checkable
class SignalSource(Protocol):
    """A source whose readings drive state and counter trackers, which a restart resumes from
    the warehouse (`realtime.resume`) before the first message."""

    name: str
    signals: MachineSignals

    def bindings(self) -> Iterable[Binding]:
        """Every tag the source binds (the signal tags say which machines to resume)."""
        ...
