"""A writer whose "now" is pinned, and a quick way to query the test's warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import psycopg
import pytest

from oee_pipelines.warehouse import Plausibility, WarehouseWriter

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
"""The pinned "now" of every writer in these tests."""

Query = Callable[[str], list[tuple]]


@pytest.fixture
def writer(pool) -> WarehouseWriter:
    return WarehouseWriter(pool, Plausibility(now=lambda: NOW))


@pytest.fixture
def query(database_url: str) -> Query:
    """Rows of a SQL query on this test's warehouse."""

    def rows(statement: str) -> list[tuple]:
        with psycopg.connect(database_url) as conn:
            return conn.execute(statement).fetchall()

    return rows
