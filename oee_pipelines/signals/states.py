"""Machine states from a PLC's state signal: readings in, `machine_state` intervals out.

The tracker keeps one open interval per machine. A reading that changes the state (or the reason)
closes it and opens the next; a reading at the same instant as the open interval's start amends
it (the warehouse upserts on (machine_id, start_ts), so the amended row replaces the first one).
Replaying readings produces the same rows again, never new ones: writes stay idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from oee_pipelines.vocabulary import MACHINE_STATES, MachineState
from oee_pipelines.warehouse.records import MachineStateRecord


@dataclass(slots=True)
class _Open:
    start: dt.datetime
    state: str
    reason_code: str | None


class StateCodes:
    """Maps what a PLC reports (a number or a name) onto the canonical machine states.

    Canonical state names always map to themselves; `codes` adds the plant's own codes, keyed by
    their text ("3" for the integer 3).
    """

    def __init__(self, codes: Mapping[str, MachineState]) -> None:
        unknown = sorted(set(codes.values()).difference(MACHINE_STATES))
        if unknown:
            raise ValueError(f"state codes map onto unknown states: {', '.join(unknown)}")
        self._codes: dict[str, str] = {state: state for state in MACHINE_STATES}
        self._codes.update(codes)

    def state(self, value: object) -> str | None:
        """The canonical state of a reported value, or None when the code is not configured."""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return self._codes.get(value if isinstance(value, str) else str(value))


class StateTracker:
    """One open state interval per machine; not thread-safe (one per source)."""

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}
        self._early_reasons: dict[str, tuple[dt.datetime, str | None]] = {}
        """A reason read before the machine's first state, kept for a state at the same instant."""

    def resume(
        self, machine_id: str, start: dt.datetime, state: str, reason_code: str | None
    ) -> None:
        """Continue from the machine's open interval in the warehouse (after a restart)."""
        self._open[machine_id] = _Open(start, state, reason_code)

    def state(self, machine_id: str, ts: dt.datetime, state: str) -> list[MachineStateRecord]:
        """A state reading; a new state at a later instant starts without a reason."""
        return self._change(machine_id, ts, state, None, reason_given=False)

    def reason(
        self, machine_id: str, ts: dt.datetime, reason_code: str | None
    ) -> list[MachineStateRecord]:
        """A reason-code reading: the same state for another reason is another interval."""
        return self._change(machine_id, ts, None, reason_code, reason_given=True)

    def _change(
        self,
        machine_id: str,
        ts: dt.datetime,
        state: str | None,
        reason: str | None,
        reason_given: bool,
    ) -> list[MachineStateRecord]:
        current = self._open.get(machine_id)
        if current is None:
            if state is None:
                self._early_reasons[machine_id] = (ts, reason)
                return []
            early_ts, early_reason = self._early_reasons.pop(machine_id, (None, None))
            if not reason_given:
                reason = early_reason if early_ts == ts else None
            self._open[machine_id] = _Open(ts, state, reason)
            return [MachineStateRecord(machine_id, ts, None, state, reason)]
        if ts < current.start:  # late reading: the intervals after it are already written
            return []
        new_state = current.state if state is None else state
        if reason_given:
            new_reason = reason
        elif ts == current.start or new_state == current.state:
            new_reason = current.reason_code
        else:
            new_reason = None
        if (new_state, new_reason) == (current.state, current.reason_code):
            return []
        records = []
        if ts > current.start:
            records.append(
                MachineStateRecord(
                    machine_id, current.start, ts, current.state, current.reason_code
                )
            )
            current.start = ts
        current.state, current.reason_code = new_state, new_reason
        records.append(MachineStateRecord(machine_id, ts, None, new_state, new_reason))
        return records
