"""The warehouse's fixed vocabularies, written once (contracts.md section 2).

The SQL CHECK constraints of the migrations spell the same lists; a test holds them equal.
"""

from __future__ import annotations

from typing import Literal, get_args

MachineState = Literal[
    "running",
    "idle",
    "starved",
    "blocked",
    "unplanned_stop",
    "planned_stop",
    "changeover",
    "offline",
]
MACHINE_STATES: frozenset[str] = frozenset(get_args(MachineState))

Quality = Literal["good", "uncertain", "bad"]
QUALITIES: frozenset[str] = frozenset(get_args(Quality))
