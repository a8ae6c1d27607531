"""The rows that every source hands to the warehouse writer, whatever protocol it speaks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oee_pipelines.vocabulary import MACHINE_STATES, QUALITIES


@dataclass(frozen=True, slots=True)
class MachineStateRecord:
    machine_id: str
    start_ts: dt.datetime
    end_ts: dt.datetime | None
    state: str
    reason_code: str | None = None

    def problem(self) -> str | None:
        """Why the warehouse cannot accept this record, or None."""
        if self.state not in MACHINE_STATES:
            return f"unknown state {self.state!r}"
        if self.end_ts is not None and self.end_ts <= self.start_ts:
            return "end_ts is not after start_ts"
        return _naive(self.start_ts, self.end_ts)


@dataclass(frozen=True, slots=True)
class ProductionCountRecord:
    machine_id: str
    start_ts: dt.datetime
    end_ts: dt.datetime
    good_count: int
    reject_count: int

    def problem(self) -> str | None:
        if self.good_count < 0 or self.reject_count < 0:
            return "negative count"
        if self.end_ts <= self.start_ts:
            return "end_ts is not after start_ts"
        return _naive(self.start_ts, self.end_ts)


@dataclass(frozen=True, slots=True)
class TelemetryRecord:
    machine_id: str
    tag: str
    ts: dt.datetime
    value: float | None
    value_text: str | None = None
    unit: str | None = None
    quality: str = "good"

    def problem(self) -> str | None:
        if self.quality not in QUALITIES:
            return f"unknown quality {self.quality!r}"
        return _naive(self.ts)


def _naive(*timestamps: dt.datetime | None) -> str | None:
    if any(ts is not None and ts.utcoffset() is None for ts in timestamps):
        return "timestamp without timezone"
    return None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Input that never became a record (an undecodable message, an unreadable row), kept whole.

    `payload` is what arrived: raw bytes, text, or the decoded fields; `context` says where it
    came from (topic, endpoint, file and row, tag) so that an operator can find its origin.
    """

    source: str
    target: str
    reason: str
    payload: bytes | str | Mapping[str, Any]
    context: Mapping[str, str] = field(default_factory=dict)
