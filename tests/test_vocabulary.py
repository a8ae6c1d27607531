"""The fixed vocabularies are written once in Python; the warehouse's CHECK constraints and the
simulated plant must spell the same lists (docs/contracts.md section 2)."""

from __future__ import annotations

import re

import psycopg

import simulator
from oee_pipelines.vocabulary import MACHINE_STATES, QUALITIES

_CHECKS_ON_COLUMN = """
SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'c' AND a.attname = %s
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


def _allowed_values(database_url: str, column: str) -> dict[str, frozenset[str]]:
    """Per table, the text literals that the CHECK constraints on `column` allow."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(_CHECKS_ON_COLUMN, (column,)).fetchall()
    return {table: frozenset(re.findall(r"'([^']*)'::text", check)) for table, check in rows}


def test_machine_states_agree_in_python_sql_and_the_simulator(database_url: str) -> None:
    checks = _allowed_values(database_url, "state")
    assert "curated.machine_state" in checks
    assert checks == dict.fromkeys(checks, MACHINE_STATES)
    assert frozenset(simulator.STATES) == MACHINE_STATES
    assert len(simulator.STATES) == len(MACHINE_STATES)


def test_qualities_agree_in_python_and_sql(database_url: str) -> None:
    checks = _allowed_values(database_url, "quality")
    assert "curated.telemetry" in checks
    assert checks == dict.fromkeys(checks, QUALITIES)
