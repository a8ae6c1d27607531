"""The warehouse's rows of one historian source, held to the recorded history they came from."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

from psycopg_pool import ConnectionPool

from oee_pipelines.connectors.historian import HistorianConfig
from simulator.servers.historian import RecordedHistory

UTC = dt.UTC
_QUALITY = {"good": "good", "questionable": "uncertain", "substituted": "uncertain"}


def us(instant: dt.datetime) -> int:
    return (instant - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


def instant(microseconds: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=microseconds)


def rows(pool: ConnectionPool, source: str) -> dict[str, list[tuple]]:
    """Every row the source wrote, per table, in key order."""
    with pool.connection() as conn:
        return {
            "telemetry": conn.execute(
                "SELECT machine_id, tag, ts, value, value_text, unit, quality"
                " FROM curated.telemetry WHERE source = %s ORDER BY 1, 2, 3",
                (source,),
            ).fetchall(),
            "machine_state": conn.execute(
                "SELECT machine_id, start_ts, end_ts, state, reason_code FROM curated.machine_state"
                " WHERE source = %s ORDER BY 1, 2",
                (source,),
            ).fetchall(),
            "production_count": conn.execute(
                "SELECT machine_id, start_ts, end_ts, good_count, reject_count"
                " FROM curated.production_count WHERE source = %s ORDER BY 1, 2",
                (source,),
            ).fetchall(),
        }


def assert_matches_truth(
    pool: ConnectionPool,
    source: str,
    config: HistorianConfig,
    history: RecordedHistory,
    start: dt.datetime,
    end: dt.datetime,
    bad_text: dict[str, str] | None = None,
) -> None:
    """Telemetry equals the recorded values of [start, end) with their translated qualities;
    states equal the simulated plant's (adjacent equal intervals merged); every count row holds
    exactly the parts completed in it, they never overlap, and they add up to the window's parts.
    `bad_text`: the text a bad value carries, per flag (PI's system digital state names)."""
    written = rows(pool, source)
    plant = history.plant
    for machine_id, signals in config.machines.items():
        for signal, mapping in signals.items():
            if signal in ("state", "reason_code", "good_count", "reject_count"):
                continue
            expected = [
                (
                    machine_id,
                    signal,
                    instant(t),
                    value,
                    (bad_text or {}).get(flag),
                    mapping.unit,
                    _QUALITY.get(flag, "bad"),
                )
                for t, value, flag in history.values(mapping.address, us(start), us(end) - 1)
            ]
            actual = [row for row in written["telemetry"] if row[:2] == (machine_id, signal)]
            assert actual == expected, f"{machine_id} {signal}"

        truth = [
            (s.start, s.end, s.state, s.reason_code) for s in plant.states(machine_id, start, end)
        ]
        states = [row[1:] for row in written["machine_state"] if row[0] == machine_id]
        assert _merged(states) == _merged(truth), machine_id

        counts = [row[1:] for row in written["production_count"] if row[0] == machine_id]
        assert counts, machine_id
        assert start <= counts[0][0] and counts[-1][1] <= end, machine_id
        for (_, previous_end, *_), (row_start, *_) in pairwise(counts):
            assert previous_end <= row_start, f"{machine_id}: overlap at {row_start}"
        for row_start, row_end, good, reject in counts:
            assert (good, reject) == _parts(plant, machine_id, row_start, row_end), row_start
        totals = [sum(row[i] for row in counts) for i in (2, 3)]
        assert tuple(totals) == _parts(plant, machine_id, start, end), machine_id


def _parts(plant, machine_id: str, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    cycles = plant.cycles(machine_id, start, end)
    return sum(c.good for c in cycles), sum(not c.good for c in cycles)


def _merged(intervals: list[tuple]) -> list[tuple]:
    merged: list[list] = []
    for start, end, *value in intervals:
        if merged and merged[-1][1] == start and merged[-1][2:] == value:
            merged[-1][1] = end
        else:
            merged.append([start, end, *value])
    return [tuple(interval) for interval in merged]
