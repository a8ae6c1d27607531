"""A restart continues each source's signals from what it wrote, neither losing nor doubling parts.

Before the service reads a message, each source whose readings drive the state and counter
trackers (`SignalSource`) gets back, for each machine it has signal tags of: its open
`machine_state` interval, the start S of its latest `production_count` row, its counters'
readings at or before S and those after S (`oee_pipelines.signals.counters`). Replaying the
readings after S rewrites the rows the last run wrote (same keys, same counts) and adds those
whose readings it committed but died before their rows. A machine without a count row resumes
from its counters' latest readings. Every query walks a primary key backwards from the end.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import Connection

from oee_pipelines.signals import Binding, MachineSignals, Signal
from oee_pipelines.warehouse.records import MachineStateRecord, TelemetryRecord
from realtime.source import Decoded

_COUNTERS = (Signal.GOOD, Signal.REJECT)
_OPEN_STATE = """
    SELECT machine_id, start_ts, end_ts, state, reason_code FROM curated.machine_state
    WHERE machine_id = %s AND source = %s ORDER BY start_ts DESC LIMIT 1
"""
_LAST_COUNT_START = """
    SELECT max(start_ts) FROM curated.production_count WHERE machine_id = %s AND source = %s
"""
_GOOD_READING = """
    FROM curated.telemetry
    WHERE machine_id = %(machine)s AND tag = %(tag)s AND source = %(source)s
      AND quality = 'good' AND value IS NOT NULL
"""
_READING_THEN = f"""
    SELECT ts, value {_GOOD_READING} AND ts <= coalesce(%(at)s::timestamptz, 'infinity')
    ORDER BY ts DESC LIMIT 1
"""
_READINGS_SINCE = f"SELECT ts, value {_GOOD_READING} AND ts > %(at)s ORDER BY ts"


def resume(
    conn: Connection, source: str, signals: MachineSignals, bindings: Iterable[Binding]
) -> Decoded:
    """Set the source's trackers as the warehouse says; returns the count rows to write again."""
    machines: dict[str, list[Binding]] = {}
    for binding in bindings:
        if binding.signal:
            machines.setdefault(binding.machine_id, []).append(binding)
    out = Decoded()
    for machine_id, signal_bindings in sorted(machines.items()):
        row = conn.execute(_OPEN_STATE, (machine_id, source)).fetchone()
        open_state = MachineStateRecord(*row) if row and row[2] is None else None
        counters = [b for b in signal_bindings if b.signal in _COUNTERS]
        last_start = conn.execute(_LAST_COUNT_START, (machine_id, source)).fetchone()
        at = last_start[0] if last_start else None
        then: dict[str, TelemetryRecord] = {}
        since: list[TelemetryRecord] = []
        for binding in counters:
            query = {"machine": machine_id, "tag": binding.tag, "source": source}
            latest = conn.execute(_READING_THEN, {**query, "at": at}).fetchone()
            if latest is not None:
                then[binding.tag] = TelemetryRecord(machine_id, binding.tag, *latest)
            if at is not None:
                since += [
                    TelemetryRecord(machine_id, binding.tag, ts, value)
                    for ts, value in conn.execute(_READINGS_SINCE, {**query, "at": at})
                ]
        if at is None and then:
            at = max(r.ts for r in then.values())
        since.sort(key=lambda r: (r.ts, r.tag))  # good before reject at one instant
        out.counts += signals.resume(
            machine_id,
            open_state,
            at,
            {tag: int(r.value) for tag, r in then.items() if r.value is not None},
            since,
            {b.tag: b.rollover for b in counters},
        )
    return out
