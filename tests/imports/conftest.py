"""Imports against a real warehouse: the plant is site S1 (Europe/Berlin), line L1, machine M1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from oee_pipelines.imports import ImportReport, import_file
from oee_pipelines.warehouse import Plausibility

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
"""The pinned "now" of every import in these tests."""
PLAUSIBLE = Plausibility(now=lambda: NOW)

Query = Callable[..., list[tuple]]
Importer = Callable[..., ImportReport]


@pytest.fixture
def plant_pool(pool: ConnectionPool) -> ConnectionPool:
    """The test pool's plant, its site in Berlin (so local times and DST matter)."""
    with pool.connection() as conn:
        conn.execute("UPDATE curated.site SET timezone = 'Europe/Berlin'")
    return pool


@pytest.fixture
def importer(plant_pool: ConnectionPool) -> Importer:
    """Import bytes under a file name, "now" pinned."""

    def run(name: str, data: bytes, **options: Any) -> ImportReport:
        return import_file(plant_pool, name, data, plausibility=PLAUSIBLE, **options)

    return run


@pytest.fixture
def query(database_url: str) -> Query:
    def rows(statement: str, params: Any = None) -> list[tuple]:
        with psycopg.connect(database_url) as conn:
            return conn.execute(statement, params).fetchall()

    return rows


def csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)
